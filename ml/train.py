"""Training loop for BertSumExt: ``train(config, train_data, val_data, out_dir, log_dir, ...)``.

BCE on greedy-oracle labels, AdamW with warmup then decay (linear, or PreSumm's
Noam schedule), gradient clipping and accumulation, mixed precision (bf16 on CPU,
fp16/bf16 on CUDA), safetensors checkpoints every N steps that a crashed run
resumes from, the best model by validation kept in ``out_dir/best``, TensorBoard
logs and a validation report (per sentence label, probability, selection, and the
false positive / false negative sentences) for the caller. The optimisation loop
itself is ``ml.trainer.train_task``, shared with MatchSum.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ml.bertsumext import BertSumExt, BertSumExtConfig
from ml.checkpoint import (
    list_training_checkpoints,
    load_pretrained,
    save_pretrained,
    save_training_checkpoint,
)
from ml.encoders import load_tokenizer, set_attention_dropout
from ml.ext_data import DocumentFeatures, Window, cached_features, collate, document_windows
from ml.inference import autocast_context, score_features, select_sentences
from ml.probe import encode_windows, train_head
from ml.trainer import (
    LoopOutcome,
    LoopTask,
    ProgressCallback,
    planned_steps,
    train_task,
)


@dataclass
class TrainConfig:
    """Optimisation settings; ``model`` holds the model and data settings."""

    model: BertSumExtConfig = field(default_factory=BertSumExtConfig)
    batch_size: int = 8
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 5e-5  # peak learning rate of the encoder
    head_lr: float | None = None  # peak lr of the new layers (None: same as lr)
    weight_decay: float = 0.01
    schedule: str = "linear"  # "linear": warmup then linear decay to 0; "noam": PreSumm
    warmup_steps: int = 100
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    max_minutes: float | None = None  # stop (checkpoint + validate) after this much time
    max_grad_norm: float = 1.0
    precision: str = "auto"  # fp32 | bf16 | fp16 (CUDA) | auto (fp32 on CPU, bf16/fp16 on CUDA)
    log_every: int = 10
    eval_every: int = 200  # validation (and a checkpoint) every N optimizer steps
    checkpoint_every: int | None = None  # extra checkpoints for resuming (None: eval_every)
    keep_checkpoints: int = 2  # training checkpoints kept for resuming
    # At the end, also validate the mean weights of the last 2..N checkpoints and keep one
    # that beats the best single step (0: off); that many checkpoints are kept meanwhile.
    average_checkpoints: int = 0
    select_by: str = "rouge"  # keep the best by "rouge" (mean R1/R2/RLsum) or "loss"
    # "first": one window per document cut at max_pos (PreSumm); "all": every window of a
    # long document, as windowed inference sees it, so sentences past max_pos are learnt too.
    train_windows: str = "first"
    val_limit: int | None = None  # validate on the first N validation documents
    summary_sentences: int = 3
    block_trigrams: bool = True
    eval_batch_size: int = 16
    seed: int = 1
    cache_dir: str | None = None  # features cache (default: out_dir/cache)
    init_from: str | None = None  # start from a trained checkpoint dir (retraining)
    # Linear probing then fine-tuning: before the first step of a new run, train the
    # head alone for this many epochs on frozen-encoder sentence vectors (one forward
    # pass per window), so fine-tuning starts from a head that already ranks sentences.
    probe_epochs: int = 0
    probe_lr: float = 1e-3

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = BertSumExtConfig.from_dict(self.model)
        if self.schedule not in ("linear", "noam"):
            raise ValueError("schedule must be 'linear' or 'noam'")
        if self.select_by not in ("rouge", "loss"):
            raise ValueError("select_by must be 'rouge' or 'loss'")
        if self.train_windows not in ("first", "all"):
            raise ValueError("train_windows must be 'first' or 'all'")
        if self.probe_epochs < 0 or self.probe_lr <= 0:
            raise ValueError("probe_epochs must be >= 0 and probe_lr > 0")
        if self.batch_size < 1 or self.grad_accum < 1 or self.eval_every < 1:
            raise ValueError("batch_size, grad_accum and eval_every must be >= 1")
        if self.keep_checkpoints < 1 or self.average_checkpoints < 0:
            raise ValueError("keep_checkpoints must be >= 1 and average_checkpoints >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SentencePrediction:
    index: int
    text: str
    start: int
    end: int
    label: int | None
    probability: float | None  # None: the model did not see it (see cut_reason)
    selected: bool
    cut_reason: str | None = None


@dataclass
class DocumentPrediction:
    id: str
    sentences: list[SentencePrediction]


@dataclass
class MisclassifiedSentence:
    """A selected sentence the oracle/staff did not label (false positive), or the reverse."""

    document_id: str
    index: int
    text: str
    start: int
    end: int
    label: int
    probability: float | None
    kind: str  # "false_positive" | "false_negative"


@dataclass
class ValidationOutput:
    documents: list[DocumentPrediction]
    false_positives: list[MisclassifiedSentence]
    false_negatives: list[MisclassifiedSentence]
    metrics: dict[str, float]


@dataclass
class DataReport:
    """What the data pipeline did not give the model, so nothing is lost silently."""

    documents: int = 0
    used: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> document ids
    sentences: int = 0
    sentences_cut: dict[str, int] = field(default_factory=dict)  # reason -> count
    positive_labels: int = 0
    positive_labels_cut: dict[str, int] = field(default_factory=dict)  # reason -> count


@dataclass
class TrainResult:
    best_dir: Path | None  # the model to serve (None only when cancelled before validating)
    last_checkpoint: Path | None
    metrics: dict[str, float]  # best model's validation metrics + baselines + throughput
    validation: ValidationOutput | None  # of the best model
    history: list[dict[str, float]]  # one entry per validation
    data: DataReport
    stopped: str  # "completed" | "time_budget" | "cancelled"
    steps: int


def train_result(
    outcome: LoopOutcome, metrics: dict[str, float], report: DataReport, out: Path
) -> TrainResult:
    best_dir = out / "best"
    return TrainResult(
        best_dir=best_dir if best_dir.is_dir() else None,
        last_checkpoint=outcome.last_checkpoint,
        metrics=metrics,
        validation=outcome.best_validation,
        history=outcome.history,
        data=report,
        stopped=outcome.stopped,
        steps=outcome.steps,
    )


# --- data --------------------------------------------------------------------------------


def training_windows(
    docs: Sequence[DocumentFeatures],
    tokenizer: Any,
    config: BertSumExtConfig,
    which: str = "first",
) -> tuple[list[Window], DataReport]:
    """Training windows of the usable documents and a report of what the model does not see.

    ``which="first"``: the first window of each document (PreSumm's truncation at
    max_pos). ``"all"``: every window of :func:`document_windows`; sentences repeated as
    left context get label -1, so each sentence counts in the loss once.
    """
    report = DataReport(documents=len(docs))
    windows: list[Window] = []
    for i, doc in enumerate(docs):
        if doc.labels is None:
            report.skipped.setdefault("no_reference_or_labels", []).append(doc.id)
            continue
        if len(doc.scored) < config.min_train_sentences:
            report.skipped.setdefault("too_few_sentences", []).append(doc.id)
            continue
        if which == "all":
            for window in document_windows(doc, i, tokenizer, config, mode="windows"):
                if window.labels is not None:
                    window.labels = [
                        -1 if k < window.score_from else label
                        for k, label in enumerate(window.labels)
                    ]
                windows.append(window)
        else:
            (window,) = document_windows(doc, i, tokenizer, config, mode="truncate")
            windows.append(window)
        report.used += 1
        report.sentences += len(doc.spans)
        report.positive_labels += sum(doc.labels)
        for cut in doc.cuts:
            report.sentences_cut[cut.reason] = report.sentences_cut.get(cut.reason, 0) + 1
            if cut.label:
                report.positive_labels_cut[cut.reason] = (
                    report.positive_labels_cut.get(cut.reason, 0) + 1
                )
    return windows, report


# --- validation --------------------------------------------------------------------------


def validate(
    model: BertSumExt,
    tokenizer: Any,
    docs: Sequence[DocumentFeatures],
    examples: Sequence[Any],
    device: torch.device,
    config: TrainConfig,
) -> ValidationOutput:
    """Validation loss and ROUGE plus per-sentence predictions and FP/FN lists."""
    from ml.rouge import mean_scores, score_summary

    probs = score_features(
        model, tokenizer, docs, device, config.eval_batch_size, _eval_precision(config, device)
    )
    documents: list[DocumentPrediction] = []
    fps: list[MisclassifiedSentence] = []
    fns: list[MisclassifiedSentence] = []
    rouge: list[dict[str, float]] = []
    loss_sum, loss_n = 0.0, 0
    for doc, ex, p in zip(docs, examples, probs, strict=True):
        sents = [ex.text[s:e] for s, e in doc.spans]
        chosen = set(
            select_sentences(
                sents, p, config.summary_sentences, block_trigrams=config.block_trigrams
            )
        )
        if ex.reference:
            rouge.append(score_summary([sents[i] for i in sorted(chosen)], ex.reference))
        cut = {c.index: c.reason for c in doc.cuts}
        preds = []
        for i, (s, e) in enumerate(doc.spans):
            label = None if doc.labels is None else doc.labels[i]
            prob = p[i]
            preds.append(
                SentencePrediction(i, sents[i], s, e, label, prob, i in chosen, cut.get(i))
            )
            if label is not None and prob is not None:
                q = min(max(prob, 1e-7), 1 - 1e-7)
                loss_sum -= math.log(q) if label else math.log(1 - q)
                loss_n += 1
            if label is not None and (i in chosen) != bool(label):
                kind = "false_positive" if i in chosen else "false_negative"
                item = MisclassifiedSentence(doc.id, i, sents[i], s, e, label, prob, kind)
                (fps if i in chosen else fns).append(item)
        documents.append(DocumentPrediction(doc.id, preds))
    scores = mean_scores(rouge) if rouge else None
    metrics = {"val_loss": loss_sum / max(loss_n, 1), "val_documents": float(len(docs))}
    if scores is not None:
        metrics.update(
            val_rouge1=scores.rouge1, val_rouge2=scores.rouge2, val_rougeLsum=scores.rougeLsum
        )
        metrics["val_rouge"] = (scores.rouge1 + scores.rouge2 + scores.rougeLsum) / 3
    return ValidationOutput(documents, fps, fns, metrics)


def baseline_metrics(examples: Sequence[Any], max_sentences: int) -> dict[str, float]:
    """Lead-3 and TextRank ROUGE on the same validation documents."""
    from ml.baselines import Lead, TextRank
    from ml.evaluate import evaluate

    out: dict[str, float] = {}
    with_ref = [ex for ex in examples if ex.reference]
    if not with_ref:
        return out
    for name, system in (("lead3", Lead()), ("textrank", TextRank())):
        scores = evaluate(system, with_ref, max_sentences=max_sentences)
        out.update(
            {
                f"{name}_rouge1": scores.rouge1,
                f"{name}_rouge2": scores.rouge2,
                f"{name}_rougeLsum": scores.rougeLsum,
            }
        )
    return out


def _eval_precision(config: TrainConfig, device: torch.device) -> str:
    return config.precision


def _log_misclassified(writer: Any, out: ValidationOutput, step: int, limit: int = 50) -> None:
    for tag, items in (
        ("validation/false_positives", out.false_positives),
        ("validation/false_negatives", out.false_negatives),
    ):
        rows = ["| document | # | probability | sentence |", "|---|---|---|---|"]
        for m in sorted(items, key=lambda m: -(m.probability or 0.0))[:limit]:
            prob = "not scored" if m.probability is None else f"{m.probability:.3f}"
            text = m.text.replace("|", "\\|").replace("\n", " ")
            rows.append(f"| {m.document_id} | {m.index} | {prob} | {text} |")
        rows.append(f"\n{len(items)} in all")
        writer.add_text(tag, "\n".join(rows), step)


# --- training ------------------------------------------------------------------------------


def _build_model(config: TrainConfig, resume_dir: Path | None) -> tuple[BertSumExt, Any]:
    if resume_dir is not None:
        model, tokenizer = load_pretrained(resume_dir)
    elif config.init_from:
        model, tokenizer = load_pretrained(config.init_from)
    elif config.model.encoder_config is not None:  # an encoder built from its config (tests)
        model = BertSumExt(config.model)
        tokenizer = load_tokenizer(config.model.encoder)
    else:
        model = BertSumExt.from_pretrained_encoder(config.model)
        tokenizer = load_tokenizer(config.model.encoder)
    # The attention dropout the caller asked for applies to this run, whatever the
    # checkpoint was trained with (0 lets SDPA use its fast path on CPU).
    model.config.attention_dropout = config.model.attention_dropout
    if config.model.attention_dropout is not None:
        set_attention_dropout(model.encoder, config.model.attention_dropout)
    config.model = model.config
    return model, tokenizer


def train(
    config: TrainConfig,
    train_data: Sequence[Any],
    val_data: Sequence[Any],
    out_dir: str | Path,
    log_dir: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str | torch.device = "cpu",
    resume: bool = True,
) -> TrainResult:
    """Train BertSumExt on ``ml.data.Example`` lists; see the module docstring.

    ``on_progress(step, total_steps, loss)`` is called after every optimizer step;
    ``should_stop()`` is polled after every step and cancels the run (a resumable
    checkpoint is written first). With ``resume`` the run continues from the newest
    checkpoint in ``out_dir/checkpoints``.
    """
    config = copy.deepcopy(config)  # the model config gets filled in; keep the caller's intact
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    if not train_data:
        raise ValueError("no training documents")
    if not val_data:
        raise ValueError("no validation documents")

    existing = list_training_checkpoints(out / "checkpoints") if resume else []
    resume_dir = existing[-1] if existing else None
    torch.manual_seed(config.seed)
    model, tokenizer = _build_model(config, resume_dir)
    model.to(device)
    cfg = model.config

    cache = config.cache_dir or str(out / "cache")
    train_docs = cached_features(train_data, tokenizer, cfg, True, cache)
    windows, report = training_windows(train_docs, tokenizer, cfg, config.train_windows)
    if not windows:
        raise ValueError(f"no usable training documents: {dict(report.skipped)}")
    val_examples = list(val_data)[: config.val_limit] if config.val_limit else list(val_data)
    val_docs = cached_features(val_examples, tokenizer, cfg, False, cache)

    pad_id = int(tokenizer.pad_token_id or 0)
    run_metrics = baseline_metrics(val_examples, config.summary_sentences)
    if config.probe_epochs and resume_dir is None:  # a resumed run has its head already
        start = time.monotonic()
        vectors = encode_windows(model, windows, pad_id, config.eval_batch_size)
        probe_losses = train_head(
            model, windows, vectors, config.probe_epochs, config.probe_lr, seed=config.seed
        )
        del vectors
        probe_minutes = (time.monotonic() - start) / 60
        run_metrics.update(probe_loss=probe_losses[-1], probe_minutes=probe_minutes)
        if config.max_minutes is not None:  # the time budget covers the whole run
            config.max_minutes = max(config.max_minutes - probe_minutes, 0.0)

    total = planned_steps(config, len(windows))
    head_params = list(model.head.parameters())
    head_ids = {id(p) for p in head_params}
    enc_params = [p for p in model.parameters() if id(p) not in head_ids]
    optimizer = torch.optim.AdamW(
        [
            {"params": enc_params, "lr": config.lr},
            {"params": head_params, "lr": config.head_lr or config.lr},
        ],
        weight_decay=config.weight_decay,
    )

    def loss(batch_windows: list[Window]) -> torch.Tensor:
        batch = collate(batch_windows, pad_id).to(device)
        with autocast_context(device, config.precision):
            logits = model(batch)
        assert batch.labels is not None
        return BertSumExt.loss(logits, batch.labels, batch.sentence_mask)

    def revalidate_best(directory: Path) -> ValidationOutput:
        best_model, _ = load_pretrained(directory, device)
        return validate(best_model, tokenizer, val_docs, val_examples, device, config)

    task = LoopTask(
        model=model,
        items=windows,
        loss=loss,
        validate=lambda: validate(model, tokenizer, val_docs, val_examples, device, config),
        save_best=lambda d, metrics: save_pretrained(
            model, tokenizer, d, {**metrics, **run_metrics}
        ),
        save_checkpoint=lambda d, opt, sched, state, scaler: save_training_checkpoint(
            d, model, tokenizer, opt, sched, state, scaler
        ),
        revalidate_best=revalidate_best,
        log_lr_as=("train/lr", "train/head_lr"),
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
        run_metrics,
        cfg.to_dict(),
    )
    return train_result(outcome, metrics, report, out)
