"""Training runs: start (by staff, the API or the schedule), launch from the
dashboard, cancel. The training worker (``jobs.workers.train``) runs them.

A run trains on the documents of one split that have a reference summary or
staff label overrides, validates on another split, and on success leaves a
ModelVersion, the misclassified validation sentences and its metrics beside
Lead-3/TextRank, the zero-label default and the active version measured on the same
validation set.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.registry import KINDS, PRETRAINED, resolve_train_config
from ml.settings import ConfigError

from ..models import (
    TERMINAL_STATUSES,
    JobStatus,
    ModelVersion,
    Split,
    TrainableKind,
    TrainingRun,
    Trigger,
)
from .errors import InvalidInput
from .languages import validate_training_languages
from .manifests import (
    changes,
    counted,
    current_manifest,
    labelled_documents,
    validation_documents,
)
from .validation import validate_split

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def not_trainable(kind: str) -> str | None:
    """Why a served-only kind cannot be trained (None for any other value)."""
    spec = KINDS.get(kind)
    if spec is None or spec.source != PRETRAINED:
        return None
    return (
        f"kind '{kind}' is not trainable: it serves a pretrained model as is "
        f"({spec.model_setting}); trainable kinds: {', '.join(TrainableKind.values)}"
    )


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    reason = not_trainable(kind)
    if reason is not None:
        raise InvalidInput(reason, "kind")
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
    """The kind's ml train config: its recipe (the config's defaults), how many training
    documents the best model scores for review, then the deployment's TRAINING_DEFAULTS,
    then the run's params ("model" merged key by key)."""
    service = {"score_train_documents": settings.TRAINING_SCORED_TRAIN_DOCUMENTS}
    return resolve_train_config(kind, service, settings.TRAINING_DEFAULTS, params)


def run_config(run: TrainingRun) -> Any:
    """The config a run trains with: the one resolved at its first start (stored on the
    run), so a continuation or a retried attempt keeps the recipe even if
    TRAINING_DEFAULTS or the recipe changed meanwhile."""
    if run.resolved_config:
        return resolve_train_config(run.kind, run.resolved_config)
    return training_config(run.kind, run.params)


def active_extractor(kind: str) -> ModelVersion | None:
    """The active version of the kind that prunes documents for ``kind`` (the registry's
    ``extractor``: MatchSum's is BertSumExt); None when it needs none or none is active."""
    extractor = KINDS[kind].extractor
    if extractor is None:
        return None
    return ModelVersion.objects.filter(kind=extractor, is_active=True).first()


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
    extractor = KINDS[kind].extractor
    if extractor is not None and active_extractor(kind) is None:
        raise InvalidInput(
            f"{KINDS[kind].label} builds its candidates with a {KINDS[extractor].label} "
            f"model: train and promote a {extractor} version first",
            "kind",
        )
    if TrainingRun.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).exists():
        raise InvalidInput(f"a {kind} run is already queued or running; wait or cancel it")
    if not labelled_documents(train_split).exists():
        raise InvalidInput(
            f"no documents in split '{train_split}' have a reference summary or labels; "
            "import some with `manage.py import_dataset`"
        )
    if not validation_documents(val_split).exists():
        raise InvalidInput(
            f"no documents in split '{val_split}' have a reference summary or staff labels"
        )
    validate_training_languages(
        training_config(kind, params),
        {
            "train_split": labelled_documents(train_split),
            "val_split": validation_documents(val_split),
        },
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


class ScheduledRunNotStarted(Exception):
    """The schedule found new data but could not start a run (bad
    SCHEDULED_TRAINING_PARAMS, no validation documents, ...): the schedule's failure."""


@dataclass(frozen=True)
class RetrainingPlan:
    """What scheduled retraining would do now, and why (the front page shows it)."""

    kind: str
    start: bool
    reason: str  # "would start: 6 new labelled documents, 1 correction" / "would not ..."
    compared_with: TrainingRun | None = None


def _last_recorded_run(kind: str) -> TrainingRun | None:
    """The newest successful run of `kind` that recorded what it learned from (a failed
    or cancelled run left no model of that data, so the schedule tries again)."""
    runs = TrainingRun.objects.filter(kind=kind, status=JobStatus.SUCCEEDED).exclude(manifest={})
    return runs.order_by("-created_at").first()


def retraining_plan(kind: str = TrainableKind.BERTSUMEXT) -> RetrainingPlan:
    """Would scheduled retraining start a run now? Compares the current training data
    (manifest and its digest) with the last run's manifest, so a new document, a new or
    changed label and a removed label (a revert, undo or confirm deletes an override)
    all count as new."""
    in_progress = TrainingRun.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).first()
    if in_progress is not None:
        return RetrainingPlan(kind, False, f"would not start: {in_progress} is in progress")
    now = current_manifest()
    if not now["train_documents"]:
        return RetrainingPlan(kind, False, "would not start: no labelled training documents")
    last = _last_recorded_run(kind)
    if last is None:
        first = counted(len(now["train_documents"]), "labelled training document")
        return RetrainingPlan(kind, True, f"would start: {first}, no earlier run recorded")
    if last.manifest.get("sha256") == now["sha256"]:
        nothing = f"would not start: nothing new since run {last.pk}"
        return RetrainingPlan(kind, False, nothing, last)
    new = changes(now, last.manifest) or ["the training data changed"]
    return RetrainingPlan(kind, True, f"would start: {', '.join(new)} since run {last.pk}", last)


def retrain_if_new_data(kind: str = TrainableKind.BERTSUMEXT) -> TrainingRun | None:
    """Scheduled retraining: start a run only if the training data changed since the last
    run (see retraining_plan). New data that cannot be trained on raises
    ScheduledRunNotStarted, which the schedule records as its failure."""
    plan = retraining_plan(kind)
    if not plan.start:
        logger.info("retrain %s: %s", kind, plan.reason)
        return None
    try:
        return start_training(
            kind, params=dict(settings.SCHEDULED_TRAINING_PARAMS), trigger=Trigger.SCHEDULE
        )
    except InvalidInput as exc:
        if TrainingRun.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).exists():
            logger.info("retrain %s: a run started meanwhile", kind)
            return None
        field = " (SCHEDULED_TRAINING_PARAMS)" if exc.field == "params" else ""
        raise ScheduledRunNotStarted(
            f"retrain {kind}: {plan.reason}, but not started{field}: {exc.message}"
        ) from exc


def retrain_now(schedule: str, kind: str = TrainableKind.BERTSUMEXT) -> TrainingRun | None:
    """Staff "Run it now" on a retraining schedule: what the schedule does when it fires
    (start only with new data), recorded as that schedule's outcome."""
    from ..messages import RETRAIN_IF_NEW_DATA
    from . import schedules

    with schedules.recorded(schedule, RETRAIN_IF_NEW_DATA):
        return retrain_if_new_data(kind)


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
