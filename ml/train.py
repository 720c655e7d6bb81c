"""Training loop for BertSumExt: ``train(config, train_data, val_data, out_dir, log_dir, ...)``.

BCE on greedy-oracle labels, AdamW with warmup then decay (linear, or PreSumm's
Noam schedule), gradient clipping and accumulation, mixed precision (bf16 on CPU,
fp16/bf16 on CUDA), safetensors checkpoints every N steps that a crashed run
resumes from, the best model by validation kept in ``out_dir/best``, TensorBoard
logs and a validation report (per sentence label, probability, selection, and the
false positive / false negative sentences) for the caller.
"""

from __future__ import annotations

import copy
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ml.bertsumext import BertSumExt, BertSumExtConfig
from ml.checkpoint import (
    list_training_checkpoints,
    load_pretrained,
    load_training_state,
    save_pretrained,
    save_training_checkpoint,
    step_dir,
)
from ml.encoders import load_tokenizer, set_attention_dropout
from ml.ext_data import DocumentFeatures, Window, cached_features, collate, document_windows
from ml.inference import autocast_context, score_features, select_sentences

ProgressCallback = Callable[[int, int, float], None]


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

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = BertSumExtConfig.from_dict(self.model)
        if self.schedule not in ("linear", "noam"):
            raise ValueError("schedule must be 'linear' or 'noam'")
        if self.select_by not in ("rouge", "loss"):
            raise ValueError("select_by must be 'rouge' or 'loss'")
        if self.train_windows not in ("first", "all"):
            raise ValueError("train_windows must be 'first' or 'all'")
        if self.batch_size < 1 or self.grad_accum < 1 or self.eval_every < 1:
            raise ValueError("batch_size, grad_accum and eval_every must be >= 1")

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


# --- schedule ----------------------------------------------------------------------------


class ScheduleSettings(Protocol):
    """What :func:`lr_factor` reads (TrainConfig and MatchSumTrainConfig both have it)."""

    schedule: str
    warmup_steps: int


def lr_factor(step: int, total: int, config: ScheduleSettings) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps."""
    warmup = max(config.warmup_steps, 1)
    s = step + 1
    if config.schedule == "noam":  # PreSumm: min(s^-0.5, s*w^-1.5), peak 1 at s = w
        return min(s**-0.5, s * warmup**-1.5) * math.sqrt(warmup)
    if s <= warmup:
        return s / warmup
    return max(0.0, (total - s) / max(total - warmup, 1))


def optimizer_step(
    model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any, max_grad_norm: float
) -> None:
    """One optimizer step after gradient accumulation: unscale (fp16), clip, step, reset."""
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()


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


def _is_better(metrics: dict[str, float], best: float | None, select_by: str) -> bool:
    if select_by == "rouge" and "val_rouge" in metrics:
        return best is None or metrics["val_rouge"] > best
    return best is None or -metrics["val_loss"] > best


def _selection_value(metrics: dict[str, float], select_by: str) -> float:
    if select_by == "rouge" and "val_rouge" in metrics:
        return metrics["val_rouge"]
    return -metrics["val_loss"]


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


# --- the loop ----------------------------------------------------------------------------


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
    ckpt_root = out / "checkpoints"
    device = torch.device(device)
    if not train_data:
        raise ValueError("no training documents")
    if not val_data:
        raise ValueError("no validation documents")

    existing = list_training_checkpoints(ckpt_root) if resume else []
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

    micro_per_epoch = math.ceil(len(windows) / config.batch_size)
    total = config.max_steps or max(
        1, math.ceil(config.epochs * micro_per_epoch / config.grad_accum)
    )

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
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, config))
    use_scaler = device.type == "cuda" and config.precision == "fp16"
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)

    step = 0
    history: list[dict[str, float]] = []
    best_value: float | None = None
    best_step = -1
    elapsed_before = 0.0
    if resume_dir is not None:
        state, scaler_state = load_training_state(resume_dir, optimizer, scheduler)
        if scaler_state:
            scaler.load_state_dict(scaler_state)
        step = int(state["step"])
        history = list(state["history"])
        best_value = state["best_value"]
        best_step = int(state["best_step"])
        elapsed_before = float(state.get("elapsed_s", 0.0))

    writer = None
    if log_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(log_dir))

    baselines = baseline_metrics(val_examples, config.summary_sentences)
    pad_id = int(tokenizer.pad_token_id or 0)
    start_time = time.monotonic()
    docs_seen = 0
    stopped = "completed"
    best_validation: ValidationOutput | None = None
    last_ckpt = resume_dir
    last_eval_step = history[-1]["step"] if history else -1

    def trainer_state() -> dict[str, Any]:
        return {
            "step": step,
            "total_steps": total,
            "history": history,
            "best_value": best_value,
            "best_step": best_step,
            "elapsed_s": elapsed_before + time.monotonic() - start_time,
            "train_config": config.to_dict(),
        }

    def checkpoint() -> Path:
        nonlocal last_ckpt
        last_ckpt = save_training_checkpoint(
            step_dir(ckpt_root, step),
            model,
            tokenizer,
            optimizer,
            scheduler,
            trainer_state(),
            scaler.state_dict() if use_scaler else None,
        )
        for old in list_training_checkpoints(ckpt_root)[: -config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        return last_ckpt

    def evaluate_now() -> None:
        nonlocal best_value, best_step, best_validation, last_eval_step
        result = validate(model, tokenizer, val_docs, val_examples, device, config)
        metrics = {"step": float(step), **result.metrics}
        history.append(metrics)
        last_eval_step = step
        if writer is not None:
            for key, value in result.metrics.items():
                writer.add_scalar(f"validation/{key.removeprefix('val_')}", value, step)
            _log_misclassified(writer, result, step)
        if _is_better(result.metrics, best_value, config.select_by):
            best_value = _selection_value(result.metrics, config.select_by)
            best_step = step
            best_validation = result
            save_pretrained(model, tokenizer, out / "best", {**metrics, **baselines})

    model.train()
    micro = step * config.grad_accum
    running: list[float] = []
    try:
        while step < total:
            epoch, offset = divmod(micro, micro_per_epoch)
            order = torch.randperm(
                len(windows), generator=torch.Generator().manual_seed(config.seed + epoch)
            ).tolist()
            start = offset * config.batch_size
            batch_windows = [windows[i] for i in order[start : start + config.batch_size]]
            batch = collate(batch_windows, pad_id).to(device)
            with autocast_context(device, config.precision):
                logits = model(batch)
            assert batch.labels is not None
            loss = BertSumExt.loss(logits, batch.labels, batch.sentence_mask)
            scaler.scale(loss / config.grad_accum).backward()
            running.append(float(loss.detach()))
            docs_seen += len(batch_windows)
            micro += 1
            if micro % config.grad_accum:
                continue
            optimizer_step(model, optimizer, scheduler, scaler, config.max_grad_norm)
            step += 1
            step_loss = sum(running) / len(running)
            running.clear()
            if writer is not None and step % config.log_every == 0:
                writer.add_scalar("train/loss", step_loss, step)
                writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
                writer.add_scalar("train/head_lr", scheduler.get_last_lr()[1], step)
            if on_progress is not None:
                on_progress(step, total, step_loss)
            out_of_time = (
                config.max_minutes is not None
                and elapsed_before + time.monotonic() - start_time > config.max_minutes * 60
            )
            if step % config.eval_every == 0 or step == total or out_of_time:
                evaluate_now()
                checkpoint()
            elif config.checkpoint_every and step % config.checkpoint_every == 0:
                checkpoint()
            if out_of_time and step < total:
                stopped = "time_budget"
                break
            if should_stop is not None and should_stop():
                if last_eval_step != step:
                    checkpoint()
                stopped = "cancelled"
                break
    finally:
        if writer is not None:
            writer.flush()

    if stopped != "cancelled" and last_eval_step != step:
        evaluate_now()
        checkpoint()
    if best_validation is None and best_step >= 0 and (out / "best").is_dir():
        # Resumed after the best model was saved: recompute its report from the saved copy.
        best_model, _ = load_pretrained(out / "best", device)
        best_validation = validate(best_model, tokenizer, val_docs, val_examples, device, config)
    wall = time.monotonic() - start_time
    metrics: dict[str, float] = {}
    if best_validation is not None:
        metrics.update(best_validation.metrics)
    metrics.update(baselines)
    metrics.update(
        best_step=float(best_step),
        steps=float(step),
        train_docs_per_s=docs_seen / wall if wall > 0 else 0.0,
    )
    if writer is not None:
        hparams = {
            k: v
            for k, v in config.to_dict().items()
            if isinstance(v, int | float | str | bool) and not isinstance(v, type(None))
        }
        hparams.update(
            {
                f"model_{k}": v
                for k, v in cfg.to_dict().items()
                if isinstance(v, int | float | str | bool)
            }
        )
        writer.add_hparams(hparams, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=".")
        writer.close()
    best_dir = out / "best" if (out / "best").is_dir() else None
    return TrainResult(
        best_dir=best_dir,
        last_checkpoint=last_ckpt,
        metrics=metrics,
        validation=best_validation,
        history=history,
        data=report,
        stopped=stopped,
        steps=step,
    )
