"""BertSumExt training: ``train(config, train_data, val_data, out_dir, log_dir, ...)``.

BCE on greedy-oracle labels, AdamW with warmup then decay (linear, or PreSumm's
Noam schedule) and a higher peak lr for the new head, optional linear probing of
the head first (``probe_epochs``), and a validation report (per sentence label,
probability, selection, and the false positive / false negative sentences) for the
caller. Accumulation, clipping, mixed precision, safetensors checkpoints that a
crashed run resumes from, the best model in ``out_dir/best`` and TensorBoard logs
are :class:`ml.training.loop.TrainingLoop`'s, shared with MatchSum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import torch

from ml.checkpoints import save_training_checkpoint
from ml.models.bertsumext.checkpoint import ARCHITECTURE, load_pretrained, save_pretrained
from ml.models.bertsumext.config import BertSumExtConfig, TrainConfig
from ml.models.bertsumext.features import (
    DocumentFeatures,
    Window,
    cached_features,
    collate,
    document_windows,
)
from ml.models.bertsumext.model import BertSumExt
from ml.models.bertsumext.probe import encode_windows, train_head
from ml.models.bertsumext.summarizer import score_features
from ml.models.bertsumext.tensorboard import graph_inputs, log_sentence_projector, watched_modules
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

__all__ = ["TrainConfig", "train", "training_windows", "validate"]


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
            report.skip("no_reference_or_labels", doc.id)
            continue
        if len(doc.scored) < config.min_train_sentences:
            report.skip("too_few_sentences", doc.id)
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
            report.cut(cut.reason, cut.label)
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
    probs = score_features(model, tokenizer, docs, device, config.eval_batch_size, config.precision)
    report = ValidationReport()
    loss_sum, loss_n = 0.0, 0
    for doc, ex, p in zip(docs, examples, probs, strict=True):
        sents = [ex.text[s:e] for s, e in doc.spans]
        chosen = set(
            select_sentences(
                sents, p, config.summary_sentences, block_trigrams=config.block_trigrams
            )
        )
        cut = {c.index: c.reason for c in doc.cuts}
        report.add(doc.id, ex.text, doc.spans, doc.labels, p, chosen, cut.get, ex.reference)
        for label, prob in zip(doc.labels or [], p, strict=False):
            if prob is not None:
                q = min(max(prob, 1e-7), 1 - 1e-7)
                loss_sum -= math.log(q) if label else math.log(1 - q)
                loss_n += 1
    metrics = {"val_loss": loss_sum / max(loss_n, 1), "val_documents": float(len(docs))}
    return report.output(metrics)


# --- training ------------------------------------------------------------------------------


def _probe_head(
    model: BertSumExt, windows: list[Window], pad_id: int, config: TrainConfig
) -> dict[str, float]:
    """Linear probing before fine-tuning; its metrics. The time budget covers the probe."""
    start = time.monotonic()
    vectors = encode_windows(model, windows, pad_id, config.eval_batch_size)
    probe_losses = train_head(
        model, windows, vectors, config.probe_epochs, config.probe_lr, seed=config.seed
    )
    del vectors
    probe_minutes = (time.monotonic() - start) / 60
    if config.max_minutes is not None:  # the time budget covers the whole run
        config.max_minutes = max(config.max_minutes - probe_minutes, 0.0)
    return {"probe_loss": probe_losses[-1], "probe_minutes": probe_minutes}


def _optimizer(model: BertSumExt, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with two param groups: the encoder (lr) and the new head (head_lr)."""
    head_params = list(model.head.parameters())
    head_ids = {id(p) for p in head_params}
    enc_params = [p for p in model.parameters() if id(p) not in head_ids]
    return torch.optim.AdamW(
        [
            {"params": enc_params, "lr": config.lr},
            {"params": head_params, "lr": config.head_lr or config.lr},
        ],
        weight_decay=config.weight_decay,
    )


def _loop_task(
    model: BertSumExt,
    tokenizer: Any,
    windows: list[Window],
    validation: tuple[list[DocumentFeatures], list[Any]],
    device: torch.device,
    config: TrainConfig,
    run_metrics: dict[str, float],
) -> LoopTask:
    """How the loop computes BertSumExt's loss, validates and saves it."""
    val_docs, val_examples = validation
    pad_id = int(tokenizer.pad_token_id or 0)
    projected = val_docs[: config.projector_documents]

    def log_validation(writer: Any, result: ValidationOutput, step: int) -> None:
        log_misclassified(writer, result, step)
        log_sentence_projector(
            writer, model, tokenizer, projected, result, step, config.eval_batch_size
        )

    def loss(batch_windows: list[Window]) -> torch.Tensor:
        batch = collate(batch_windows, pad_id).to(device)
        with autocast_context(device, config.precision):
            logits = model(batch)
        assert batch.labels is not None
        return BertSumExt.loss(logits, batch.labels, batch.sentence_mask)

    return LoopTask(
        model=model,
        items=windows,
        loss=loss,
        validate=lambda m: validate(m, tokenizer, val_docs, val_examples, device, config),
        load_best=lambda directory: load_pretrained(directory, device)[0],
        save_best=lambda d, metrics: save_pretrained(
            model, tokenizer, d, {**metrics, **run_metrics}
        ),
        save_checkpoint=lambda d, opt, sched, state, scaler: save_training_checkpoint(
            d, model, tokenizer, ARCHITECTURE, opt, sched, state, scaler
        ),
        log_lr_as=("train/lr", "train/head_lr"),
        log_validation=log_validation,
        graph=lambda: graph_inputs(model, windows, pad_id),
        watch=watched_modules(model),
    )


def _prepare(
    config: TrainConfig, run: RunContext, train_data: Sequence[Any], val_data: Sequence[Any]
) -> Prepared:
    device = run.device
    torch.manual_seed(config.seed)
    model, tokenizer = build_model(config, run.resume_dir, BertSumExt, load_pretrained)
    model.to(device)
    cfg = model.config

    cache = config.cache_dir or str(run.out / "cache")
    train_docs = cached_features(train_data, tokenizer, cfg, True, cache)
    windows, report = training_windows(train_docs, tokenizer, cfg, config.train_windows)
    if not windows:
        raise ValueError(f"no usable training documents: {dict(report.skipped)}")
    val_examples = validation_examples(val_data, config)
    val_docs = cached_features(val_examples, tokenizer, cfg, False, cache)

    pad_id = int(tokenizer.pad_token_id or 0)
    run_metrics = baseline_metrics(val_examples, config.summary_sentences)
    if config.probe_epochs and run.resume_dir is None:  # a resumed run has its head already
        run_metrics.update(_probe_head(model, windows, pad_id, config))

    validation = (val_docs, val_examples)
    task = _loop_task(model, tokenizer, windows, validation, device, config, run_metrics)
    total = planned_steps(config, len(windows))
    # The best model on its own training documents (those with labels), for review.
    scored = [(d, ex) for d, ex in zip(train_docs, train_data, strict=True) if d.labels][
        : config.score_train_documents
    ]
    score_docs, score_examples = [d for d, _ in scored], [ex for _, ex in scored]

    def score_training(best: BertSumExt) -> ValidationOutput:
        return validate(best, tokenizer, score_docs, score_examples, device, config)

    return Prepared(task, _optimizer(model, config), total, run_metrics, report, score_training)


train = training_function(
    _prepare, "Train BertSumExt on ``ml.text.data.Example`` lists; see the module docstring."
)
