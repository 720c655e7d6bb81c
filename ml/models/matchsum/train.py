"""MatchSum training on top of a trained BertSumExt: ``train(...)``.

The same conventions as ``ml.models.bertsumext.train`` and the same loop
(``ml.training.loop``): AdamW with warmup then decay, gradient clipping and
accumulation, autocast, safetensors checkpoints every N steps that a crashed run
resumes from bit for bit, the best model by validation in ``out_dir/best``,
TensorBoard logs, ``on_progress(step, total, loss)`` and ``should_stop()``, and a
validation report (``ml.training.results``; per sentence: label, extractor score,
selected; the false positive / false negative sentences).

The extractor is copied once to ``out_dir/extractor``; its candidates for the
training and validation documents are computed once and cached (keyed by the data,
the extractor's sha256 and the candidate settings). Every checkpoint directory
carries a copy of the extractor, so ``out_dir/best`` is servable on its own.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ml.checkpoints import CheckpointError, atomic_directory
from ml.models.bertsumext.checkpoint import read_config
from ml.models.bertsumext.summarizer import Summarizer as BertSumExtSummarizer
from ml.models.matchsum.checkpoint import (
    EXTRACTOR_DIR,
    copy_extractor,
    load_matchsum,
    save_matchsum,
    save_matchsum_training_checkpoint,
)
from ml.models.matchsum.config import TrainConfig
from ml.models.matchsum.features import (
    CUT_PRUNED,
    MatchDocument,
    MatchFeatures,
    cached_documents,
    collate,
    encode_documents,
    extractor_fingerprint,
    gold_text,
)
from ml.models.matchsum.model import MatchSum
from ml.models.matchsum.summarizer import best_candidate, score_candidates
from ml.precision import autocast_context
from ml.text.selection import select_sentences
from ml.training.loop import LoopTask, RunContext, planned_steps
from ml.training.results import (
    DataReport,
    ValidationOutput,
    ValidationReport,
    baseline_metrics,
    log_misclassified,
)
from ml.training.setup import Prepared, build_model, training_function, validation_examples
from ml.training.tensorboard import top_encoder_layer

__all__ = ["TrainConfig", "check_extractor", "train", "validate"]

log = logging.getLogger(__name__)


# --- data --------------------------------------------------------------------------------


def _candidate_sentences(doc: MatchDocument) -> set[int]:
    return {i for c in doc.candidates for i in c}


def _cut_reason(doc: MatchDocument, index: int, pruned: set[int]) -> str | None:
    if index in pruned:
        return None
    return doc.cuts.get(index, CUT_PRUNED)


def usable_documents(docs: Sequence[MatchDocument]) -> tuple[list[int], DataReport]:
    """Positions of the documents training can use, and what was not given to the model.

    A document needs a target (reference, or staff labels) and at least two
    candidates. Sentences that are in no candidate are "cut" (reason: the extractor's,
    e.g. "short", or "pruned" = outside its top-k); positive labels among them show
    how much the pruning costs.
    """
    report = DataReport(documents=len(docs))
    used: list[int] = []
    for i, doc in enumerate(docs):
        if not doc.target:
            report.skip("no_reference_or_labels", doc.id)
            continue
        if len(doc.candidates) < 2:
            report.skip("too_few_candidates", doc.id)
            continue
        used.append(i)
        report.used += 1
        report.sentences += len(doc.spans)
        pruned = _candidate_sentences(doc)
        labels = doc.labels or [0] * len(doc.spans)
        report.positive_labels += sum(labels)
        for s in range(len(doc.spans)):
            reason = _cut_reason(doc, s, pruned)
            if reason is not None:
                report.cut(reason, labels[s])
    return used, report


# --- validation --------------------------------------------------------------------------


def _candidate_loss(row: list[float], gold: float | None, model: MatchSum) -> float:
    cfg = model.config
    slots = torch.ones((1, len(row)), dtype=torch.bool)
    gold_t = None if gold is None else torch.tensor([gold])
    loss = MatchSum.loss(
        torch.tensor([row]), slots, gold_t, cfg.margin, cfg.gold_margin, cfg.gold_weight
    )
    return float(loss)


def validate(
    model: MatchSum,
    tokenizer: Any,
    docs: Sequence[MatchDocument],
    examples: Sequence[Any],
    device: torch.device,
    config: TrainConfig,
) -> ValidationOutput:
    """Validation loss, ROUGE of the chosen candidates, top-1 rate, per-sentence report."""
    texts = [ex.text for ex in examples]
    scores, gold_scores = score_candidates(
        model,
        tokenizer,
        docs,
        texts,
        device,
        config.eval_batch_size,
        config.precision,
        golds=[gold_text(d.target) for d in docs],
    )
    report = ValidationReport()
    losses: list[float] = []
    top1: list[float] = []
    for doc, ex, row, gold in zip(docs, examples, scores, gold_scores, strict=True):
        best = best_candidate(row)
        chosen = set(doc.candidates[best]) if best >= 0 else set()
        if doc.rouge is not None and row:
            # Candidates are in ROUGE order: the best is first (ties count as hits).
            top1.append(float(doc.rouge[best] >= doc.rouge[0]))
            losses.append(_candidate_loss(row, gold, model))
        pruned = _candidate_sentences(doc)
        report.add(
            doc.id,
            ex.text,
            doc.spans,
            doc.labels,
            doc.sentence_scores,
            chosen,
            functools.partial(_cut_reason, doc, pruned=pruned),
            ex.reference,
        )
    metrics = {
        "val_loss": sum(losses) / max(len(losses), 1),
        "val_documents": float(len(docs)),
    }
    if top1:
        metrics["val_top1"] = sum(top1) / len(top1)
    return report.output(metrics)


def extractor_metrics(
    docs: Sequence[MatchDocument], examples: Sequence[Any], max_sentences: int
) -> dict[str, float]:
    """The extractor's own summaries (top sentences, trigram blocking) on the same documents."""
    from ml.text.rouge import mean_scores, score_summary

    rows = []
    for doc, ex in zip(docs, examples, strict=True):
        if not ex.reference:
            continue
        sents = [ex.text[s:e] for s, e in doc.spans]
        chosen = select_sentences(sents, doc.sentence_scores, max_sentences)
        rows.append(score_summary([sents[i] for i in chosen], ex.reference))
    if not rows:
        return {}
    s = mean_scores(rows)
    return {
        "bertsumext_rouge1": s.rouge1,
        "bertsumext_rouge2": s.rouge2,
        "bertsumext_rougeLsum": s.rougeLsum,
    }


# --- the loop ----------------------------------------------------------------------------


def _prepare_extractor(
    out: Path, extractor_dir: str | Path | None, resume_dir: Path | None, init_from: str | None
) -> Path:
    """``out/extractor``: a copy of the extractor this run trains on top of."""
    target = out / EXTRACTOR_DIR
    source: Path | None = Path(extractor_dir) if extractor_dir is not None else None
    if source is None:
        if target.is_dir():
            return target
        if init_from is not None and (Path(init_from) / EXTRACTOR_DIR).is_dir():
            source = Path(init_from) / EXTRACTOR_DIR
        else:
            raise ValueError("extractor_dir is required: the BertSumExt checkpoint to prune with")
    if target.is_dir():
        if extractor_fingerprint(source) == extractor_fingerprint(target):
            return target
        if resume_dir is not None:
            raise ValueError(
                f"the checkpoints in {str(out)!r} were trained on a different extractor than "
                f"{str(source)!r}; use a new output directory or resume=False"
            )
    with atomic_directory(target) as tmp:
        copy_extractor(source, tmp)
    return target


def check_extractor(
    config: TrainConfig, out_dir: Path, resume: bool, extractor_dir: str | None = None
) -> None:
    """Before reading any data: an extractor is given (or resumable / in ``init_from``)
    and is a BertSumExt checkpoint; a ValueError otherwise."""
    resuming = (Path(out_dir) / EXTRACTOR_DIR).is_dir() and resume
    if extractor_dir is None and not resuming and config.init_from is None:
        raise ValueError("MatchSum needs --extractor DIR (a trained BertSumExt checkpoint)")
    if extractor_dir is not None:
        try:
            read_config(extractor_dir)
        except CheckpointError as error:
            raise ValueError(f"--extractor: {error}") from None


def _candidates(
    config: TrainConfig,
    train_data: Sequence[Any],
    val_examples: list[Any],
    extractor_path: Path,
    cache: str,
    device: torch.device,
) -> tuple[list[MatchDocument], list[MatchDocument], str]:
    """The extractor's candidates for the training and validation documents (cached)."""
    cfg = config.model
    extractor = BertSumExtSummarizer.load(
        extractor_path, device, batch_size=config.extractor_batch_size, precision=config.precision
    )
    sha = extractor_fingerprint(extractor_path)

    def prep_progress(name: str) -> Callable[[int, int], None]:
        return lambda done, total: log.info("%s candidates: %d/%d documents", name, done, total)

    train_docs = cached_documents(
        train_data, extractor, sha, cfg, cache, None, True, prep_progress("training")
    )
    val_docs = cached_documents(
        val_examples,
        extractor,
        sha,
        cfg,
        cache,
        config.summary_sentences,
        True,
        prep_progress("validation"),
    )
    return train_docs, val_docs, sha


def _loop_task(
    model: MatchSum,
    tokenizer: Any,
    features: list[MatchFeatures],
    validation: tuple[list[MatchDocument], list[Any]],
    extractor: tuple[Path, str],
    config: TrainConfig,
    baselines: dict[str, float],
) -> LoopTask:
    """How the loop computes MatchSum's loss, validates and saves it (with its extractor)."""
    val_docs, val_examples = validation
    extractor_path, sha = extractor
    device = next(model.parameters()).device
    cfg = model.config
    pad_id = int(tokenizer.pad_token_id or 0)

    def loss(batch_features: list[MatchFeatures]) -> torch.Tensor:
        batch = collate(batch_features, pad_id).to(device)
        with autocast_context(device, config.precision):
            output = model(batch)
        return MatchSum.loss(
            output.scores,
            batch.candidate_slots,
            output.gold_scores,
            cfg.margin,
            cfg.gold_margin,
            cfg.gold_weight,
        )

    return LoopTask(
        model=model,
        items=features,
        loss=loss,
        load_best=lambda directory: load_matchsum(directory, device)[0],
        validate=lambda m: validate(m, tokenizer, val_docs, val_examples, device, config),
        save_best=lambda d, metrics: save_matchsum(
            model, tokenizer, d, extractor_path, {**metrics, **baselines}
        ),
        save_checkpoint=lambda d, opt, sched, state, scaler: save_matchsum_training_checkpoint(
            d, model, tokenizer, extractor_path, opt, sched, state, scaler
        ),
        extra_state={"extractor_sha256": sha},
        log_validation=log_misclassified,
        watch={"encoder_top": top_encoder_layer(model.encoder)},  # MatchSum adds no head
    )


def _prepare(
    config: TrainConfig,
    run: RunContext,
    train_data: Sequence[Any],
    val_data: Sequence[Any],
    extractor_dir: str | Path | None = None,
) -> Prepared:
    device = run.device
    extractor_path = _prepare_extractor(run.out, extractor_dir, run.resume_dir, config.init_from)
    torch.manual_seed(config.seed)
    model, tokenizer = build_model(config, run.resume_dir, MatchSum, load_matchsum)
    model.to(device)
    cfg = model.config

    val_examples = validation_examples(val_data, config)
    cache = config.cache_dir or str(run.out / "cache")
    train_docs, val_docs, sha = _candidates(
        config, train_data, val_examples, extractor_path, cache, device
    )
    used, report = usable_documents(train_docs)
    if not used:
        raise ValueError(f"no usable training documents: {dict(report.skipped)}")
    features: list[MatchFeatures] = encode_documents(
        [train_docs[i] for i in used],
        [train_data[i].text for i in used],
        tokenizer,
        cfg,
        with_gold=True,
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    baselines = baseline_metrics(val_examples, config.summary_sentences)
    baselines.update(extractor_metrics(val_docs, val_examples, config.summary_sentences))
    validation = (val_docs, val_examples)
    extractor = (extractor_path, sha)
    task = _loop_task(model, tokenizer, features, validation, extractor, config, baselines)
    return Prepared(task, optimizer, planned_steps(config, len(features)), baselines, report)


train = training_function(
    _prepare,
    """Train MatchSum on ``ml.text.data.Example`` lists on top of the BertSumExt
    ``extractor_dir`` (a keyword argument).

    ``extractor_dir`` may be omitted when resuming (``out_dir/extractor`` is used) or
    with ``config.init_from`` (that model's extractor); ``max_minutes`` limits the
    training loop (the candidates are prepared before the clock starts).""",
)
