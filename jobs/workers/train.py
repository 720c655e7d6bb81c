"""The training worker: train one queued run to the end (prepare, fit, record).

Idempotent; a second attempt (after a lost worker) resumes from the run's last
checkpoint. A run longer than one task pauses at the task's soft time limit and
continues in a new task (a continuation, not an attempt). The outcome is stored
only while the attempt holds the run's lease. Runs in a prefork pool (runstack,
compose): the holder of a lease is a pool process (jobqueue/owners.py).
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction

from ml.registry import EXTRACTOR_ARGUMENT, EXTRACTOR_DIR, KINDS, train_function

from .. import engines
from ..jobqueue import leases
from ..jobqueue.heartbeat import Heartbeat
from ..jobqueue.soft_limit import SoftLimit
from ..models import (
    Document,
    ErrorKind,
    JobStatus,
    ModelVersion,
    RunPrediction,
    RunRole,
    SentenceError,
    TrainingRun,
)
from ..services.training import active_extractor, run_config
from ..services.versions import FALLBACK, ROUGE_PARTS, apply_promotion_gate, compare_scores
from .training_checkpoints import (
    checkpoint_sha256,
    evaluate_version,
    latest_checkpoint_step,
    measure,
    training_device,
)
from .training_data import TrainingData, build_training_data

logger = logging.getLogger(__name__)


@dataclass
class Plan:
    """What one attempt trains with."""

    data: TrainingData
    out_dir: Path
    device: str
    config: Any
    trainer: Callable[..., Any]
    trainer_kwargs: dict[str, Any]


def run(run_id: int) -> None:
    """Train a queued run to the end, or until the task's soft time limit and then on in
    a new task. Idempotent; resumes from the last checkpoint."""
    # The claim takes over at once from a provably dead owner (jobqueue/owners.py).
    try:
        claimed = leases.claim(leases.TRAINING_RUN, run_id)
    except leases.LeaseHeld as held:
        # Held by a worker on another node: if it dies, the reaper sends the run again.
        logger.info("%s; leaving it to that worker or the reaper", held)
        return
    if claimed is None:
        return
    job, lease = claimed
    started_at = latest_checkpoint_step(Path(job.out_dir))
    interval = settings.TRAINING_HEARTBEAT_SECONDS
    try:
        with Heartbeat(leases.TRAINING_RUN, run_id, lease, interval) as heartbeat:
            plan = prepare(job, lease)
            if plan is None:
                return
            with SoftLimit() as soft_limit:
                result = fit(job, plan, heartbeat, soft_limit)
            if heartbeat.lease_lost:
                logger.warning("run %s: lease lost during training; result discarded", run_id)
                return
            if result.stopped == "paused":
                hand_off(job, lease, result.steps)
                return
            record(job, lease, plan, result)
    except SoftTimeLimitExceeded:
        # Out of time outside the loop (reading data, validating, recording): go on
        # from the last checkpoint on disk, if this task got any further.
        if (latest_checkpoint_step(Path(job.out_dir)) or 0) > (started_at or 0):
            hand_off(job, lease, None)
        else:
            limit = settings.TRAINING_SOFT_TIME_LIMIT
            error = f"the task's soft time limit ({limit} s) came before any progress"
            _finish(job, lease, status=JobStatus.FAILED, error=error)
    except Exception as exc:
        logger.exception("run %s failed", run_id)
        _finish(job, lease, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")


def hand_off(job: TrainingRun, lease: uuid.UUID, step: int | None) -> None:
    """Continue the run in a new task (this one reached its soft time limit)."""
    fields = {} if step is None else {"progress_step": step}
    if leases.hand_off_run(job.pk, lease, **fields):
        at = "its last checkpoint" if step is None else f"step {step}"
        logger.warning("run %s: task time limit reached; continuing from %s", job.pk, at)


def _finish(job: TrainingRun, lease: uuid.UUID, **fields: Any) -> bool:
    return leases.finish(leases.TRAINING_RUN, job.pk, lease, **fields)


def prepare(job: TrainingRun, lease: uuid.UUID) -> Plan | None:
    """Read the data and settings; None (and the run FAILED) when there is no data."""
    data = build_training_data(job)
    if not data.train or not data.val:
        _finish(job, lease, status=JobStatus.FAILED, error="no training or validation documents")
        return None
    out_dir = Path(job.out_dir)
    resumed_from = latest_checkpoint_step(out_dir)
    device = training_device()
    config = run_config(job)
    trainer, trainer_kwargs = _trainer(job, out_dir, data)
    fields: dict[str, Any] = {}
    if not job.resolved_config:  # the first start fixes the recipe for the whole run
        job.resolved_config = fields["resolved_config"] = config.to_dict()
    job.manifest = data.manifest
    TrainingRun.objects.filter(pk=job.pk, lease_token=lease).update(
        data_sha256=data.sha256,
        data_summary=data.summary,
        manifest=data.manifest,
        device=device,
        resumed_from_step=resumed_from,
        **fields,
    )
    return Plan(data, out_dir, device, config, trainer, trainer_kwargs)


def _trainer(
    job: TrainingRun, out_dir: Path, data: TrainingData
) -> tuple[Callable[..., Any], dict]:
    """The ml train function of the run's kind and its extra arguments."""
    train = train_function(job.kind)
    extractor = KINDS[job.kind].extractor
    if extractor is None:
        return train, {}

    # The extractor is chosen by the first attempt; ml copies it into out_dir, and a
    # resumed attempt uses that copy even if another version was promoted meanwhile.
    chosen = job.data_summary.get("extractor_version")
    version = (
        ModelVersion.objects.filter(pk=chosen).first() if chosen else active_extractor(job.kind)
    )
    if version is None:
        raise ValueError(f"no active {KINDS[extractor].label} version to build candidates with")
    copied = (out_dir / EXTRACTOR_DIR).is_dir()
    kwargs = {} if copied else {EXTRACTOR_ARGUMENT: version.checkpoint_dir}
    data.summary["extractor_version"] = version.pk
    return train, kwargs


def fit(job: TrainingRun, plan: Plan, heartbeat: Heartbeat, soft_limit: SoftLimit) -> Any:
    """Run the ml trainer, writing progress and watching for a cancel, a lost lease and
    the task's soft time limit (the loop pauses at a checkpoint of that step)."""
    last_write = 0.0

    def on_progress(step: int, total: int, loss: float) -> None:
        nonlocal last_write
        if time.monotonic() - last_write >= settings.TRAINING_PROGRESS_SECONDS or step == total:
            heartbeat.beat(progress_step=step, progress_total=total, last_loss=loss)
            last_write = time.monotonic()

    return plan.trainer(
        plan.config,
        plan.data.train,
        plan.data.val,
        out_dir=plan.out_dir,
        log_dir=job.tensorboard_logdir,
        on_progress=on_progress,
        should_stop=lambda: heartbeat.cancelled or heartbeat.lease_lost,
        should_pause=lambda: soft_limit.reached,
        device=plan.device,
        resume=True,
        **plan.trainer_kwargs,
    )


def record(job: TrainingRun, lease: uuid.UUID, plan: Plan, result: Any) -> None:
    """Store the outcome: cancelled, failed, or a new ModelVersion through the gate."""
    data_summary = {**plan.data.summary, "report": _jsonable(result.data)}
    if result.stopped == "cancelled":
        status = JobStatus.CANCELLED
        _finish(job, lease, status=status, data_summary=data_summary, progress_step=result.steps)
        return
    if result.best_dir is None:
        _finish(job, lease, status=JobStatus.FAILED, error="training produced no model")
        return
    metrics, validation_scores = _metrics(job, plan, result)
    sha256 = checkpoint_sha256(result.best_dir)  # before the row lock: it reads every weight
    with transaction.atomic():
        if not _finish(
            job,
            lease,
            status=JobStatus.SUCCEEDED,
            metrics=metrics,
            validation_scores=validation_scores,
            data_summary=data_summary,
            progress_step=result.steps,
        ):
            return
        job.validation_scores = validation_scores
        version = ModelVersion.objects.create(
            kind=job.kind,
            run=job,
            checkpoint_dir=str(result.best_dir),
            checkpoint_sha256=sha256,
            metrics=metrics,
        )
        store_sentence_errors(job, result.validation)
        store_training_errors(job, getattr(result, "training", None))
        apply_promotion_gate(version)


def _metrics(job: TrainingRun, plan: Plan, result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's metrics, with the active version measured on the same validation set,
    and the per-document scores of the new model, Lead-3, the fallback kind (what serves
    while no version is active: a first version's bar) and the active version on the
    documents the new model was validated on (the gate's paired bootstrap)."""
    from ml.text.baselines import get_baseline

    metrics = dict(result.metrics)
    metrics["stopped"] = result.stopped
    candidate = dict(getattr(result.validation, "document_rouge", None) or {})
    examples = [ex for ex in plan.data.val if ex.id in candidate]
    sentences = getattr(plan.config, "summary_sentences", 3)
    scores: dict[str, Any] = {}
    if examples:
        fallback = measure(engines.fallback_system(), examples, sentences)
        scores = {
            "documents": [int(ex.id) for ex in examples],
            "candidate": [candidate[ex.id] for ex in examples],
            "lead3": measure(get_baseline("lead3"), examples, sentences).per_document,
            FALLBACK: fallback.per_document,
            "fallback_kind": engines.fallback_kind(),
        }
        metrics["fallback_kind"] = engines.fallback_kind()
        metrics.update({f"fallback_{part}": fallback.means[f"val_{part}"] for part in ROUGE_PARTS})
    active = ModelVersion.objects.filter(kind=job.kind, is_active=True).first()
    if active is not None:
        # Recorded even when it cannot be measured (checkpoint gone): the gate then
        # refuses rather than treating the run as the first version.
        metrics["active_version"] = active.pk
        measured = evaluate_version(active, examples or plan.data.val, plan.device, sentences)
        if measured is not None:
            metrics.update({f"active_{k}": v for k, v in measured.means.items()})
            if examples:
                scores["active"] = measured.per_document
                scores["active_version"] = active.pk
    if examples:
        scores["compared"] = compare_scores(scores)
    return metrics, scores


def _existing_documents(ids: set[int]) -> set[int]:
    # Lock the documents so none is deleted between this check and the insert; one
    # deleted while the run trained has no row to point at and is left out.
    return set(Document.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))


def _error_rows(job: TrainingRun, found: list[Any], existing: set[int], role: str) -> list:
    return [
        SentenceError(
            run=job,
            document_id=int(m.document_id),
            sentence_index=m.index,
            text=m.text,
            start=m.start,
            end=m.end,
            label=m.label,
            probability=m.probability,
            kind=ErrorKind.FALSE_POSITIVE
            if m.kind == "false_positive"
            else ErrorKind.FALSE_NEGATIVE,
            split=role,
        )
        for m in found
        if int(m.document_id) in existing
    ]


def store_sentence_errors(job: TrainingRun, validation: Any) -> None:
    """The misclassified validation sentences, for staff review."""
    if validation is None:
        return
    found = [*validation.false_positives, *validation.false_negatives]
    ids = {int(m.document_id) for m in found}
    ids |= {int(d.id) for d in validation.documents if str(d.id).isdigit()}
    existing = _existing_documents(ids)
    rows = _error_rows(job, found, existing, RunRole.VALIDATION)
    SentenceError.objects.bulk_create(rows, batch_size=500)
    store_predictions(job, validation, existing)


def sentence_loss(label: int, probability: float) -> float:
    """Binary cross-entropy of one sentence: how far the model is from its label."""
    p = min(max(probability, 1e-7), 1 - 1e-7)
    return -math.log(p) if label else -math.log(1 - p)


def store_training_errors(job: TrainingRun, training: Any) -> None:
    """The best model's misclassified sentences in its own training documents, highest
    loss first (a confident disagreement with the label it was trained on is likely
    label noise), at most TRAINING_ERRORS_PER_RUN."""
    if training is None:
        return
    found = [
        m
        for m in (*training.false_positives, *training.false_negatives)
        if m.probability is not None  # cut off: the model never saw the sentence
    ]
    found.sort(key=lambda m: -sentence_loss(m.label, m.probability))
    found = found[: settings.TRAINING_ERRORS_PER_RUN]
    existing = _existing_documents({int(m.document_id) for m in found})
    rows = _error_rows(job, found, existing, RunRole.TRAIN)
    SentenceError.objects.bulk_create(rows, batch_size=500)


def store_predictions(job: TrainingRun, validation: Any, existing: set[int]) -> None:
    """Every validation sentence's score and selection, for the review queue's pages."""
    RunPrediction.objects.bulk_create(
        [
            RunPrediction(
                run=job,
                document_id=int(d.id),
                sentences=[
                    {
                        "index": s.index,
                        "start": s.start,
                        "end": s.end,
                        "score": None if s.probability is None else round(s.probability, 6),
                        "selected": s.selected,
                        "label": s.label,
                    }
                    for s in d.sentences
                ],
            )
            for d in validation.documents
            if str(d.id).isdigit() and int(d.id) in existing
        ],
        batch_size=200,
    )


def _jsonable(obj: Any) -> Any:
    plain = asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj
    return json.loads(json.dumps(plain, default=str))
