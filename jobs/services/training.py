"""Training runs: start, run (in the training worker), cancel, reap.

A run trains on the documents of one split that have a reference summary or
staff label overrides, validates on another split, and on success leaves a
ModelVersion, the misclassified validation sentences and its metrics beside
Lead-3/TextRank and the active version measured on the same validation set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..models import (
    TERMINAL_STATUSES,
    Document,
    ErrorKind,
    JobStatus,
    LabelOverride,
    ModelVersion,
    SentenceError,
    Split,
    TrainableKind,
    TrainingRun,
    Trigger,
)
from .documents import InvalidInput
from .lifecycle import gave_up, reap
from .versions import apply_promotion_gate, checkpoint_sha256, evaluate_version

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class TrainingData:
    train: list[Any]
    val: list[Any]
    sha256: str
    summary: dict[str, Any]


def _enqueue_run(run: TrainingRun) -> None:
    from ..tasks import train

    run.enqueued_at = timezone.now()
    TrainingRun.objects.filter(pk=run.pk).update(enqueued_at=run.enqueued_at)
    train.delay_on_commit(run.pk)


def _labelled(split: str):
    has_override = LabelOverride.objects.filter(document=OuterRef("pk"))
    return Document.objects.filter(split=split).filter(
        ~Q(reference_summary="") | Exists(has_override)
    )


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    if kind not in TrainableKind.values:
        raise InvalidInput(
            f"unknown kind '{kind}'; choose one of: {', '.join(TrainableKind.values)}", "kind"
        )
    if not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object of training settings", "params")
    try:
        training_config(kind, params)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid training params: {exc}", "params") from exc
    return params


def training_config(kind: str, params: dict[str, Any]) -> Any:
    """The kind's recipe (the ml config dataclass defaults), then TRAINING_DEFAULTS, then
    the run's params, each overriding the one before ("model" merged key by key)."""
    from ml.registry import resolve_train_config

    return resolve_train_config(kind, settings.TRAINING_DEFAULTS, params)


def active_extractor() -> ModelVersion | None:
    """MatchSum prunes documents with the active BertSumExt version."""
    return ModelVersion.objects.filter(kind=TrainableKind.BERTSUMEXT, is_active=True).first()


@transaction.atomic
def start_training(
    kind: str,
    *,
    params: dict[str, Any] | None = None,
    triggered_by=None,
    trigger: str = Trigger.MANUAL,
    train_split: str = Split.TRAIN,
    val_split: str = Split.VALIDATION,
) -> TrainingRun:
    """Queue a training run after checking there is data to train and validate on."""
    params = validate_params(kind, params or {})
    for name, split in (("train_split", train_split), ("val_split", val_split)):
        if split not in Split.values or not split:
            raise InvalidInput(f"{name} must be one of: {', '.join(Split.values[1:])}", name)
    if kind == TrainableKind.MATCHSUM and active_extractor() is None:
        raise InvalidInput(
            "MatchSum builds its candidates with a BertSumExt model: train and promote a "
            "bertsumext version first",
            "kind",
        )
    if TrainingRun.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).exists():
        raise InvalidInput(f"a {kind} run is already queued or running; wait or cancel it")
    if not _labelled(train_split).exists():
        raise InvalidInput(
            f"no documents in split '{train_split}' have a reference summary or labels; "
            "import some with `manage.py import_dataset`"
        )
    if not Document.objects.filter(split=val_split).exclude(reference_summary="").exists():
        raise InvalidInput(f"no documents in split '{val_split}' have a reference summary")
    run = TrainingRun.objects.create(
        kind=kind,
        params=params,
        train_split=train_split,
        val_split=val_split,
        triggered_by=triggered_by,
        trigger=trigger,
        parent_version=ModelVersion.objects.filter(kind=kind, is_active=True).first(),
        code_version=code_version(),
    )
    run.out_dir = str(Path(settings.TRAINING_DIR) / f"run-{run.pk}")
    run.tensorboard_logdir = str(Path(settings.TENSORBOARD_LOGDIR) / f"run-{run.pk}")
    run.save(update_fields=["out_dir", "tensorboard_logdir"])
    _enqueue_run(run)
    return run


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


@transaction.atomic
def cancel_training(run: TrainingRun) -> bool:
    """Cancel a queued run at once; ask a running one to stop at its next step."""
    run = TrainingRun.objects.select_for_update().get(pk=run.pk)
    if run.status in TERMINAL_STATUSES:
        return False
    run.cancel_requested = True
    if run.status == JobStatus.QUEUED:
        run.status = JobStatus.CANCELLED
        run.finished_at = timezone.now()
    run.save(update_fields=["cancel_requested", "status", "finished_at"])
    return True


# --- data ----------------------------------------------------------------------------


def build_training_data(run: TrainingRun) -> TrainingData:
    """ml Examples from the database; staff overrides replace oracle labels."""
    from ml.text.data import Example

    def examples(queryset) -> list[Example]:
        overrides: dict[int, dict[int, int]] = {}
        for o in LabelOverride.objects.filter(document__in=queryset):
            overrides.setdefault(o.document_id, {})[o.sentence_index] = o.label
        return [
            Example(
                id=str(doc.pk),
                text=doc.text,
                reference=doc.reference_summary,
                labels=overrides.get(doc.pk),
            )
            for doc in queryset.order_by("pk")
        ]

    train = examples(_labelled(run.train_split))
    val = examples(Document.objects.filter(split=run.val_split).exclude(reference_summary=""))
    digest = hashlib.sha256()
    for part in (train, val):
        for ex in part:
            record = [ex.id, ex.text, ex.reference, sorted((ex.labels or {}).items())]
            digest.update(json.dumps(record).encode())
        digest.update(b"|")
    summary = {
        "train_documents": len(train),
        "validation_documents": len(val),
        "label_overrides": sum(len(ex.labels or {}) for ex in train + val),
    }
    return TrainingData(train, val, digest.hexdigest(), summary)


# --- running (training worker) -----------------------------------------------------------


class _Heartbeat:
    """Keeps a running run's heartbeat fresh from a thread and watches for cancel.

    The trainer's own progress callback is not enough: preprocessing thousands
    of documents or a long validation pass can take minutes between steps.
    """

    def __init__(self, run_id: int, lease: uuid.UUID, interval: float):
        self.run_id, self.lease, self.interval = run_id, lease, interval
        self.cancelled = False
        self.lease_lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def beat(self, **fields: Any) -> None:
        updated = TrainingRun.objects.filter(
            pk=self.run_id, lease_token=self.lease, status=JobStatus.RUNNING
        ).update(heartbeat_at=timezone.now(), **fields)
        if not updated:
            self.lease_lost = True
        elif TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            self.cancelled = True

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except Exception:
                    logger.exception("run %s: heartbeat failed", self.run_id)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _claim_run(run_id: int) -> tuple[TrainingRun, uuid.UUID] | None:
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.TRAINING_STALE_AFTER)
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in TERMINAL_STATUSES:
            return None
        if run.status == JobStatus.RUNNING and run.heartbeat_at and run.heartbeat_at > stale_before:
            return None
        if run.cancel_requested:
            run.status, run.finished_at = JobStatus.CANCELLED, now
            run.save(update_fields=["status", "finished_at"])
            return None
        if run.attempts >= settings.JOB_MAX_ATTEMPTS:
            run.status, run.finished_at = JobStatus.FAILED, now
            run.error = gave_up(run.attempts)
            run.save(update_fields=["status", "finished_at", "error"])
            return None
        run.status = JobStatus.RUNNING
        run.attempts += 1
        run.lease_token = uuid.uuid4()
        run.heartbeat_at = now
        run.started_at = run.started_at or now
        run.error = ""
        run.save()
        return run, run.lease_token


def _finish_run(run_id: int, lease: uuid.UUID, **fields: Any) -> bool:
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.lease_token != lease or run.status != JobStatus.RUNNING:
            logger.warning("run %s: lease lost, discarding this attempt's result", run_id)
            return False
        for name, value in fields.items():
            setattr(run, name, value)
        run.finished_at = run.heartbeat_at = timezone.now()
        run.save()
        return True


def _latest_checkpoint_step(out_dir: Path) -> int | None:
    from ml.checkpoints import list_training_checkpoints

    found = list_training_checkpoints(out_dir / "checkpoints")
    if not found:
        return None
    match = re.search(r"(\d+)$", found[-1].name)
    return int(match.group(1)) if match else None


def _device() -> str:
    if settings.TRAINING_DEVICE != "auto":
        return settings.TRAINING_DEVICE
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_training(run_id: int) -> None:
    """Train a queued run to the end. Idempotent; resumes from the last checkpoint."""
    claimed = _claim_run(run_id)
    if claimed is None:
        return
    run, lease = claimed
    try:
        with _Heartbeat(run_id, lease, settings.TRAINING_HEARTBEAT_SECONDS) as heartbeat:
            _train(run, lease, heartbeat)
    except Exception as exc:
        logger.exception("run %s failed", run_id)
        _finish_run(run_id, lease, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")


def _train(run: TrainingRun, lease: uuid.UUID, heartbeat: _Heartbeat) -> None:
    data = build_training_data(run)
    if not data.train or not data.val:
        _finish_run(
            run.pk, lease, status=JobStatus.FAILED, error="no training or validation documents"
        )
        return
    out_dir = Path(run.out_dir)
    resumed_from = _latest_checkpoint_step(out_dir)
    device = _device()
    config = training_config(run.kind, run.params)
    # Stop by itself (checkpoint + validation) before Celery's soft time limit.
    budget = max(1.0, (settings.TRAINING_SOFT_TIME_LIMIT - 300) / 60)
    config.max_minutes = min(config.max_minutes or budget, budget)
    train_kwargs: dict[str, Any] = {}
    if run.kind == TrainableKind.MATCHSUM:
        from ml.models.matchsum.train import train_matchsum as train

        # The extractor is chosen by the first attempt; ml copies it into out_dir, and a
        # resumed attempt uses that copy even if another version was promoted meanwhile.
        chosen = run.data_summary.get("extractor_version")
        version = ModelVersion.objects.filter(pk=chosen).first() if chosen else active_extractor()
        if version is None:
            raise ValueError("no active BertSumExt version to build candidates with")
        if not (out_dir / "extractor").is_dir():
            train_kwargs["extractor_dir"] = version.checkpoint_dir
        data.summary["extractor_version"] = version.pk
    else:
        from ml.models.bertsumext.train import train
    TrainingRun.objects.filter(pk=run.pk, lease_token=lease).update(
        data_sha256=data.sha256,
        data_summary=data.summary,
        device=device,
        resumed_from_step=resumed_from,
    )

    last_write = 0.0

    def on_progress(step: int, total: int, loss: float) -> None:
        nonlocal last_write
        if time.monotonic() - last_write >= settings.TRAINING_PROGRESS_SECONDS or step == total:
            heartbeat.beat(progress_step=step, progress_total=total, last_loss=loss)
            last_write = time.monotonic()

    result = train(
        config,
        data.train,
        data.val,
        out_dir=out_dir,
        log_dir=run.tensorboard_logdir,
        on_progress=on_progress,
        should_stop=lambda: heartbeat.cancelled or heartbeat.lease_lost,
        device=device,
        resume=True,
        **train_kwargs,
    )
    if heartbeat.lease_lost:
        logger.warning("run %s: lease lost during training; result discarded", run.pk)
        return
    data_summary = {**data.summary, "report": _jsonable(result.data)}
    if result.stopped == "cancelled":
        _finish_run(
            run.pk,
            lease,
            status=JobStatus.CANCELLED,
            data_summary=data_summary,
            progress_step=result.steps,
        )
        return
    if result.best_dir is None:
        _finish_run(run.pk, lease, status=JobStatus.FAILED, error="training produced no model")
        return
    metrics = dict(result.metrics)
    metrics["stopped"] = result.stopped
    active = ModelVersion.objects.filter(kind=run.kind, is_active=True).first()
    if active is not None:
        scores = evaluate_version(active, data.val, device)
        if scores is not None:
            metrics.update({f"active_{k}": v for k, v in scores.items()})
            metrics["active_version"] = active.pk
    with transaction.atomic():
        if not _finish_run(
            run.pk,
            lease,
            status=JobStatus.SUCCEEDED,
            metrics=metrics,
            data_summary=data_summary,
            progress_step=result.steps,
        ):
            return
        version = ModelVersion.objects.create(
            kind=run.kind,
            run=run,
            checkpoint_dir=str(result.best_dir),
            checkpoint_sha256=checkpoint_sha256(result.best_dir),
            metrics=metrics,
        )
        _store_sentence_errors(run, result.validation)
        apply_promotion_gate(version)


def _store_sentence_errors(run: TrainingRun, validation: Any) -> None:
    if validation is None:
        return
    found = [*validation.false_positives, *validation.false_negatives]
    # Lock the documents so none is deleted between this check and the insert; one
    # deleted while the run trained has no row to point at and is left out.
    existing = set(
        Document.objects.select_for_update()
        .filter(pk__in={int(m.document_id) for m in found})
        .values_list("pk", flat=True)
    )
    rows = [
        SentenceError(
            run=run,
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
        )
        for m in found
        if int(m.document_id) in existing
    ]
    SentenceError.objects.bulk_create(rows, batch_size=500)


def _jsonable(obj: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    return json.loads(json.dumps(asdict(obj) if is_dataclass(obj) else obj, default=str))


# --- reaping and scheduling ------------------------------------------------------------


def reap_stale_runs() -> tuple[int, int]:
    """Requeue runs whose worker died or whose message was lost (see lifecycle.reap);
    the next attempt resumes from the run's last checkpoint."""
    return reap(TrainingRun, settings.TRAINING_STALE_AFTER, _enqueue_run)


def retrain_if_new_data(kind: str = TrainableKind.BERTSUMEXT) -> TrainingRun | None:
    """Scheduled retraining: start a run only if labelled data or corrections are new."""
    last = TrainingRun.objects.filter(kind=kind).order_by("-created_at").first()
    if last is not None and last.status in ACTIVE_STATUSES:
        logger.info("retrain %s: a run is already in progress", kind)
        return None
    since = last.created_at if last else None
    labelled = _labelled(Split.TRAIN)
    overrides = LabelOverride.objects.all()
    if since is not None:
        labelled = labelled.filter(created_at__gt=since)
        overrides = overrides.filter(updated_at__gt=since)
    if not labelled.exists() and not overrides.exists():
        logger.info("retrain %s: nothing new since run %s", kind, last and last.pk)
        return None
    try:
        return start_training(
            kind, params=dict(settings.SCHEDULED_TRAINING_PARAMS), trigger=Trigger.SCHEDULE
        )
    except InvalidInput as exc:
        logger.warning("retrain %s: not started: %s", kind, exc.message)
        return None
