"""The front page's *Schedules* table: each periodic task, what beat sent, what actually
ran (jobs.services.schedules), when it runs next and, for retraining, what it would do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from ..messages import RETRAIN_IF_NEW_DATA
from ..models import ScheduleRun, TrainableKind
from ..services.training import retraining_plan

# A schedule is late when its next run after the last success is overdue by this much.
LATE_AFTER_SECONDS = 60


@dataclass(frozen=True)
class ScheduleStatus:
    """A periodic task: what beat sent (its own counters) and what actually ran."""

    task: Any  # the django_celery_beat PeriodicTask
    run: ScheduleRun | None
    state: str  # ok, failing, late, never succeeded, not run yet, disabled
    next_run_at: Any = None  # when beat sends it next (None: disabled or no estimate)
    plan: Any = None  # retraining: services.training.RetrainingPlan (what it would do now)

    @property
    def problem(self) -> bool:
        return self.state in ("failing", "late", "never succeeded")


def _overdue(task: Any, since: Any) -> bool:
    """Whether the run due after `since` should have happened by now."""
    try:
        remaining = task.schedule.remaining_estimate(since)
    except (AttributeError, TypeError, ValueError):  # a schedule without an estimate
        return False
    return remaining.total_seconds() < -LATE_AFTER_SECONDS


def schedule_state(task: Any, run: ScheduleRun | None) -> str:
    """Failing: the last run raised. Late: the run due after the last success has not
    succeeded. Never succeeded: beat has sent it (or tried to: a send that Celery
    refuses still counts in beat's total_run_count) but no run finished."""
    success = run.last_success_at if run else None
    failure = run.last_failure_at if run else None
    if not task.enabled:
        return "disabled"
    if failure and (success is None or failure > success):
        return "failing"
    if success is None:
        sent = task.total_run_count or task.last_run_at
        return "never succeeded" if sent else "not run yet"
    return "late" if _overdue(task, success) else "ok"


def next_run_at(task: Any) -> Any:
    """When beat sends `task` next: its schedule's next due time after the last send (or
    from now, when it was never sent); None when disabled or not estimable."""
    if not task.enabled:
        return None
    now = timezone.now()
    try:
        remaining = task.schedule.remaining_estimate(task.last_run_at or now)
    except (AttributeError, TypeError, ValueError):
        return None
    return max(now, now + remaining)


def retraining_kind(task: Any) -> str | None:
    """The model kind a retraining PeriodicTask retrains; None for other tasks."""
    if task.task != RETRAIN_IF_NEW_DATA:
        return None
    try:
        kwargs = json.loads(task.kwargs or "{}")
        args = json.loads(task.args or "[]")
    except ValueError:
        return TrainableKind.BERTSUMEXT
    kind = kwargs.get("kind") or (args[0] if args else TrainableKind.BERTSUMEXT)
    return kind if isinstance(kind, str) else TrainableKind.BERTSUMEXT


def schedule_statuses() -> list[ScheduleStatus]:
    """Every periodic task with its last success and failure (jobs.services.schedules),
    when it runs next and, for retraining, what it would do now."""
    from django_celery_beat.models import PeriodicTask

    runs = {r.schedule: r for r in ScheduleRun.objects.all()}
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked")
    out = []
    for task in tasks.order_by("name"):
        kind = retraining_kind(task)
        out.append(
            ScheduleStatus(
                task,
                runs.get(task.name),
                schedule_state(task, runs.get(task.name)),
                next_run_at=next_run_at(task),
                plan=retraining_plan(kind) if kind else None,
            )
        )
    return out
