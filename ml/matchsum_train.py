"""Training loop for MatchSum on top of a trained BertSumExt: ``train_matchsum(...)``.

The same conventions as ``ml.train`` (and its result types): AdamW with warmup then
decay, gradient clipping and accumulation, autocast, safetensors checkpoints every N
steps that a crashed run resumes from bit for bit, the best model by validation in
``out_dir/best``, TensorBoard logs, ``on_progress(step, total, loss)`` and
``should_stop()``, and a validation report (per sentence: label, extractor score,
selected; the false positive / false negative sentences).

The extractor is copied once to ``out_dir/extractor``; its candidates for the
training and validation documents are computed once and cached (keyed by the data,
the extractor's sha256 and the candidate settings). Every checkpoint directory
carries a copy of the extractor, so ``out_dir/best`` is servable on its own.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ml.checkpoint import (
    atomic_directory,
    list_training_checkpoints,
)
from ml.encoders import load_tokenizer, set_attention_dropout
from ml.inference import Summarizer, autocast_context, select_sentences
from ml.matchsum import MatchSum, MatchSumConfig
from ml.matchsum_checkpoint import (
    EXTRACTOR_DIR,
    copy_extractor,
    load_matchsum,
    save_matchsum,
    save_matchsum_training_checkpoint,
)
from ml.matchsum_data import (
    CUT_PRUNED,
    MatchDocument,
    MatchFeatures,
    cached_documents,
    collate,
    encode_documents,
    extractor_fingerprint,
    gold_text,
)
from ml.matchsum_inference import best_candidate, score_candidates
from ml.train import (
    DataReport,
    DocumentPrediction,
    MisclassifiedSentence,
    SentencePrediction,
    TrainResult,
    ValidationOutput,
    _log_misclassified,
    baseline_metrics,
    train_result,
)
from ml.trainer import (
    LoopTask,
    ProgressCallback,
    planned_steps,
    train_task,
)

log = logging.getLogger(__name__)


@dataclass
class MatchSumTrainConfig:
    """Optimisation settings (the names of ``ml.train.TrainConfig``); ``model`` holds the rest."""

    model: MatchSumConfig = field(default_factory=MatchSumConfig)
    batch_size: int = 4  # documents per micro-batch, each with its candidates and gold
    grad_accum: int = 1
    lr: float = 2e-5  # peak learning rate (the reference code: 2e-5)
    weight_decay: float = 0.01
    schedule: str = "linear"  # "linear": warmup then linear decay to 0; "noam"
    warmup_steps: int = 50
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    max_minutes: float | None = None  # stop (validate + checkpoint) after this much training
    max_grad_norm: float = 1.0
    precision: str = "auto"  # fp32 | bf16 | fp16 (CUDA) | auto
    log_every: int = 10
    eval_every: int = 200
    checkpoint_every: int | None = None
    keep_checkpoints: int = 2
    average_checkpoints: int = 0  # as in ml.train.TrainConfig
    select_by: str = "rouge"  # "rouge" (mean R1/R2/RLsum of the chosen candidates) or "loss"
    val_limit: int | None = None
    summary_sentences: int = 3  # candidate sizes are capped at this in validation
    eval_batch_size: int = 32  # texts per encoder forward in validation
    extractor_batch_size: int = 16  # windows per extractor forward
    seed: int = 1
    cache_dir: str | None = None  # candidates cache (default: out_dir/cache)
    init_from: str | None = None  # start from a trained MatchSum dir (retraining)

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = MatchSumConfig.from_dict(self.model)
        if self.schedule not in ("linear", "noam"):
            raise ValueError("schedule must be 'linear' or 'noam'")
        if self.select_by not in ("rouge", "loss"):
            raise ValueError("select_by must be 'rouge' or 'loss'")
        if self.batch_size < 1 or self.grad_accum < 1 or self.eval_every < 1:
            raise ValueError("batch_size, grad_accum and eval_every must be >= 1")
        if self.summary_sentences < 1:
            raise ValueError("summary_sentences must be >= 1")
        if self.keep_checkpoints < 1 or self.average_checkpoints < 0:
            raise ValueError("keep_checkpoints must be >= 1 and average_checkpoints >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
            report.skipped.setdefault("no_reference_or_labels", []).append(doc.id)
            continue
        if len(doc.candidates) < 2:
            report.skipped.setdefault("too_few_candidates", []).append(doc.id)
            continue
        used.append(i)
        report.used += 1
        report.sentences += len(doc.spans)
        pruned = _candidate_sentences(doc)
        labels = doc.labels or [0] * len(doc.spans)
        report.positive_labels += sum(labels)
        for s in range(len(doc.spans)):
            reason = _cut_reason(doc, s, pruned)
            if reason is None:
                continue
            report.sentences_cut[reason] = report.sentences_cut.get(reason, 0) + 1
            if labels[s]:
                report.positive_labels_cut[reason] = report.positive_labels_cut.get(reason, 0) + 1
    return used, report


# --- validation --------------------------------------------------------------------------


def validate_matchsum(
    model: MatchSum,
    tokenizer: Any,
    docs: Sequence[MatchDocument],
    examples: Sequence[Any],
    device: torch.device,
    config: MatchSumTrainConfig,
) -> ValidationOutput:
    """Validation loss, ROUGE of the chosen candidates, top-1 rate, per-sentence report."""
    from ml.rouge import mean_scores, score_summary

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
    cfg = model.config
    documents: list[DocumentPrediction] = []
    fps: list[MisclassifiedSentence] = []
    fns: list[MisclassifiedSentence] = []
    rouge: list[dict[str, float]] = []
    losses: list[float] = []
    top1: list[float] = []
    for doc, ex, row, gold in zip(docs, examples, scores, gold_scores, strict=True):
        best = best_candidate(row)
        chosen = set(doc.candidates[best]) if best >= 0 else set()
        sents = [ex.text[s:e] for s, e in doc.spans]
        if ex.reference:
            rouge.append(score_summary([sents[i] for i in sorted(chosen)], ex.reference))
        if doc.rouge is not None and row:
            # Candidates are in ROUGE order: the best is first (ties count as hits).
            top1.append(float(doc.rouge[best] >= doc.rouge[0]))
            slots = torch.ones((1, len(row)), dtype=torch.bool)
            gold_t = None if gold is None else torch.tensor([gold])
            loss = MatchSum.loss(
                torch.tensor([row]), slots, gold_t, cfg.margin, cfg.gold_margin, cfg.gold_weight
            )
            losses.append(float(loss))
        pruned = _candidate_sentences(doc)
        preds = []
        for i, (s, e) in enumerate(doc.spans):
            label = None if doc.labels is None else doc.labels[i]
            prob = doc.sentence_scores[i]
            selected = i in chosen
            preds.append(
                SentencePrediction(
                    i, sents[i], s, e, label, prob, selected, _cut_reason(doc, i, pruned)
                )
            )
            if label is not None and selected != bool(label):
                kind = "false_positive" if selected else "false_negative"
                item = MisclassifiedSentence(doc.id, i, sents[i], s, e, label, prob, kind)
                (fps if selected else fns).append(item)
        documents.append(DocumentPrediction(doc.id, preds))
    metrics = {
        "val_loss": sum(losses) / max(len(losses), 1),
        "val_documents": float(len(docs)),
    }
    if top1:
        metrics["val_top1"] = sum(top1) / len(top1)
    if rouge:
        mean = mean_scores(rouge)
        metrics.update(val_rouge1=mean.rouge1, val_rouge2=mean.rouge2, val_rougeLsum=mean.rougeLsum)
        metrics["val_rouge"] = (mean.rouge1 + mean.rouge2 + mean.rougeLsum) / 3
    return ValidationOutput(documents, fps, fns, metrics)


def extractor_metrics(
    docs: Sequence[MatchDocument], examples: Sequence[Any], max_sentences: int
) -> dict[str, float]:
    """The extractor's own summaries (top sentences, trigram blocking) on the same documents."""
    from ml.rouge import mean_scores, score_summary

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


def _build_model(config: MatchSumTrainConfig, resume_dir: Path | None) -> tuple[MatchSum, Any]:
    if resume_dir is not None:
        model, tokenizer = load_matchsum(resume_dir)
    elif config.init_from:
        model, tokenizer = load_matchsum(config.init_from)
    elif config.model.encoder_config is not None:  # an encoder built from its config (tests)
        model = MatchSum(config.model)
        tokenizer = load_tokenizer(config.model.encoder)
    else:
        model = MatchSum.from_pretrained_encoder(config.model)
        tokenizer = load_tokenizer(config.model.encoder)
    model.config.attention_dropout = config.model.attention_dropout
    if config.model.attention_dropout is not None:
        set_attention_dropout(model.encoder, config.model.attention_dropout)
    config.model = model.config
    return model, tokenizer


def train_matchsum(
    config: MatchSumTrainConfig,
    train_data: Sequence[Any],
    val_data: Sequence[Any],
    out_dir: str | Path,
    log_dir: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str | torch.device = "cpu",
    resume: bool = True,
    extractor_dir: str | Path | None = None,
) -> TrainResult:
    """Train MatchSum on ``ml.data.Example`` lists on top of the BertSumExt ``extractor_dir``.

    ``extractor_dir`` may be omitted when resuming (``out_dir/extractor`` is used) or
    with ``config.init_from`` (that model's extractor). Callbacks and ``resume`` work
    as in :func:`ml.train.train`; ``max_minutes`` limits the training loop (the
    candidates are prepared before the clock starts).
    """
    config = copy.deepcopy(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    if not train_data:
        raise ValueError("no training documents")
    if not val_data:
        raise ValueError("no validation documents")

    existing = list_training_checkpoints(out / "checkpoints") if resume else []
    resume_dir = existing[-1] if existing else None
    extractor_path = _prepare_extractor(out, extractor_dir, resume_dir, config.init_from)
    torch.manual_seed(config.seed)
    model, tokenizer = _build_model(config, resume_dir)
    model.to(device)
    cfg = model.config

    extractor = Summarizer.load(
        extractor_path, device, batch_size=config.extractor_batch_size, precision=config.precision
    )
    sha = extractor_fingerprint(extractor_path)
    cache = config.cache_dir or str(out / "cache")

    def prep_progress(name: str) -> Callable[[int, int], None]:
        return lambda done, total: log.info("%s candidates: %d/%d documents", name, done, total)

    train_docs = cached_documents(
        train_data, extractor, sha, cfg, cache, None, True, prep_progress("training")
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
    val_examples = list(val_data)[: config.val_limit] if config.val_limit else list(val_data)
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
    del extractor  # not needed for training; frees its memory

    total = planned_steps(config, len(features))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    baselines = baseline_metrics(val_examples, config.summary_sentences)
    baselines.update(extractor_metrics(val_docs, val_examples, config.summary_sentences))
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

    def revalidate_best(directory: Path) -> ValidationOutput:
        best_model, _ = load_matchsum(directory, device)
        return validate_matchsum(best_model, tokenizer, val_docs, val_examples, device, config)

    task = LoopTask(
        model=model,
        items=features,
        loss=loss,
        validate=lambda: validate_matchsum(
            model, tokenizer, val_docs, val_examples, device, config
        ),
        save_best=lambda d, metrics: save_matchsum(
            model, tokenizer, d, extractor_path, {**metrics, **baselines}
        ),
        save_checkpoint=lambda d, opt, sched, state, scaler: save_matchsum_training_checkpoint(
            d, model, tokenizer, extractor_path, opt, sched, state, scaler
        ),
        revalidate_best=revalidate_best,
        extra_state={"extractor_sha256": sha},
        log_validation=_log_misclassified,
    )
    outcome, metrics = train_task(
        task,
        config,
        optimizer,
        total,
        out,
        device,
        resume_dir,
        log_dir,
        on_progress,
        should_stop,
        baselines,
        cfg.to_dict(),
    )
    return train_result(outcome, metrics, report, out)
