"""Training runs: start (by staff, the API or the schedule), launch from the
dashboard, cancel. The training worker (``jobs.workers.train``) runs them.

A run trains on the documents of one split that have a reference summary or
staff label overrides, validates on another split, and on success leaves a
ModelVersion, the misclassified validation sentences and its metrics beside
Lead-3/TextRank and the active version measured on the same validation set.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ml.registry import resolve_train_config
from ml.settings import ConfigError

from ..models import (
    TERMINAL_STATUSES,
    Document,
    JobStatus,
    LabelOverride,
    ModelKind,
    ModelVersion,
    Split,
    TrainableKind,
    TrainingRun,
    Trigger,
)
from .errors import InvalidInput
from .validation import validate_split

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def labelled_documents(split: str):
    """Documents of `split` to train (or validate) on: with a reference summary or staff
    labels (a staff-labelled document needs no reference). One per text: copies (same
    sha256) share their labels, so only the oldest copy counts."""
    has_override = LabelOverride.objects.filter(document=OuterRef("pk"))
    labelled = Document.objects.filter(split=split).filter(
        ~Q(reference_summary="") | Exists(has_override)
    )
    earlier_copy = labelled.filter(sha256=OuterRef("sha256"), pk__lt=OuterRef("pk"))
    return labelled.exclude(Exists(earlier_copy))


NOT_TRAINABLE = (
    "kind 'abstractive' is not trainable: it serves a pretrained Hugging Face model as is "
    f"(ABSTRACTIVE_MODEL); trainable kinds: {', '.join(TrainableKind.values)}"
)


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    if kind == ModelKind.ABSTRACTIVE:
        raise InvalidInput(NOT_TRAINABLE, "kind")
    if kind not in TrainableKind.values:
        raise InvalidInput(
            f"unknown kind '{kind}'; choose one of: {', '.join(TrainableKind.values)}", "kind"
        )
    if not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object of training settings", "params")
    try:
        training_config(kind, params)
    except ConfigError as exc:
        raise InvalidInput(f"invalid training params: {exc}", "params") from exc
    return params


def training_config(kind: str, params: dict[str, Any]) -> Any:
    """The kind's ml train config: its recipe (the config's defaults), then the
    deployment's TRAINING_DEFAULTS, then the run's params ("model" merged key by key)."""
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
    validate_split(train_split, "train_split", allow_none=False)
    validate_split(val_split, "val_split", allow_none=False)
    if kind == TrainableKind.MATCHSUM and active_extractor() is None:
        raise InvalidInput(
            "MatchSum builds its candidates with a BertSumExt model: train and promote a "
            "bertsumext version first",
            "kind",
        )
    if TrainingRun.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).exists():
        raise InvalidInput(f"a {kind} run is already queued or running; wait or cancel it")
    if not labelled_documents(train_split).exists():
        raise InvalidInput(
            f"no documents in split '{train_split}' have a reference summary or labels; "
            "import some with `manage.py import_dataset`"
        )
    if not labelled_documents(val_split).exists():
        raise InvalidInput(
            f"no documents in split '{val_split}' have a reference summary or staff labels"
        )
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
    run.enqueue()
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


# --- scheduled retraining ---------------------------------------------------------------


def retrain_if_new_data(kind: str = TrainableKind.BERTSUMEXT) -> TrainingRun | None:
    """Scheduled retraining: start a run only if labelled data or corrections are new."""
    last = TrainingRun.objects.filter(kind=kind).order_by("-created_at").first()
    if last is not None and last.status in ACTIVE_STATUSES:
        logger.info("retrain %s: a run is already in progress", kind)
        return None
    since = last.created_at if last else None
    labelled = labelled_documents(Split.TRAIN)
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


# --- the dashboard's "Launch retraining" -------------------------------------------------


@dataclass(frozen=True)
class RetrainingRequest:
    kind: str
    params: dict[str, Any]
    train_split: str = Split.TRAIN
    val_split: str = Split.VALIDATION
    from_active: bool = False  # fine-tune the active version instead of the base encoder


def training_defaults(kind: str = TrainableKind.BERTSUMEXT) -> dict[str, Any]:
    """The settings a run gets for what it leaves out (the kind's recipe and
    TRAINING_DEFAULTS over the config's own defaults)."""
    return training_config(kind, {}).to_dict()


def launch_retraining(request: RetrainingRequest, by) -> TrainingRun:
    """Staff "Launch retraining": queue a run; fine-tune the active version if asked."""
    params = dict(request.params)
    if request.from_active:
        active = ModelVersion.objects.filter(kind=request.kind, is_active=True).first()
        if active is None:
            raise InvalidInput(f"no {request.kind} version is active to start from", "from_active")
        if not Path(active.checkpoint_dir).is_dir():
            raise InvalidInput(
                f"the checkpoint of {active} is missing: {active.checkpoint_dir}", "from_active"
            )
        params["init_from"] = active.checkpoint_dir
    return start_training(
        request.kind,
        params=params,
        triggered_by=by,
        trigger=Trigger.MANUAL,
        train_split=request.train_split,
        val_split=request.val_split,
    )
