"""System checks for settings whose wrong values only show up in production."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connections


@dataclass(frozen=True)
class Limits:
    """A task's effective time limits, as Celery applies them when it sends one."""

    soft: float | None
    hard: float | None


def celery_tasks() -> Mapping[str, Any]:
    """The registered tasks, as a worker or beat sees them (this project's tasks are
    all in jobs.tasks; not the loader's autodiscovery, which runs the checks again)."""
    from celery import current_app

    from . import tasks  # noqa: F401  (registers them)

    return current_app.tasks


def effective_limits(task: Any, options: Mapping[str, Any] | None = None) -> Limits:
    """The message's options, else the task's own (its decorator options, else its
    annotations, else CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT: Celery
    fills the task's attributes in that order when it binds the task)."""
    options = options or {}
    soft = options.get("soft_time_limit", task.soft_time_limit)
    hard = options.get("time_limit", task.time_limit)
    return Limits(soft, hard)


def limit_errors(label: str, limits: Limits) -> list[Error]:
    """What Celery refuses at send time (soft above hard), and a hard limit missing
    or not below the broker's visibility timeout (the task would run twice)."""
    timeout = settings.CELERY_VISIBILITY_TIMEOUT
    errors = []
    if limits.soft and limits.hard and limits.soft > limits.hard:
        errors.append(
            Error(
                f"{label}: soft_time_limit ({limits.soft}s) is above time_limit "
                f"({limits.hard}s); Celery refuses to send it (SchedulingError in beat)",
                hint="Set both limits for the task (settings <PREFIX>_SOFT_TIME_LIMIT and "
                "<PREFIX>_TIME_LIMIT, jobs/tasks.py), soft <= hard.",
                id="jobs.E004",
            )
        )
    if not limits.hard or limits.hard >= timeout:
        errors.append(
            Error(
                f"{label}: time_limit ({f'{limits.hard}s' if limits.hard else 'none'}) must be "
                f"set and below CELERY_VISIBILITY_TIMEOUT ({timeout}s)",
                hint="Raise CELERY_VISIBILITY_TIMEOUT or lower the time limit.",
                id="jobs.E001",
            )
        )
    return errors


def schedule_errors(
    entries: Iterable[tuple[str, str, Mapping[str, Any]]], source: str
) -> list[Error]:
    """(entry name, task name, options) of a beat schedule: a task that is not
    registered, or whose limits Celery would refuse."""
    tasks = celery_tasks()
    errors = []
    for name, task_name, options in entries:
        task = tasks.get(task_name)
        if task is None:
            errors.append(
                Error(
                    f"{source} '{name}' runs task '{task_name}', which is not registered",
                    hint="Use a name from jobs.messages (the names in jobs/tasks.py).",
                    id="jobs.E005",
                )
            )
            continue
        label = f"{source} '{name}' ({task_name})"
        errors.extend(limit_errors(label, effective_limits(task, options)))
    return errors


@register()
def time_limits_below_visibility_timeout(app_configs, **kwargs):
    """A task still running when Redis's visibility timeout expires is delivered to a
    second worker and runs twice (Celery docs, "Redis broker: caveats")."""
    timeout = settings.CELERY_VISIBILITY_TIMEOUT
    limits = {
        "SUMMARY_TIME_LIMIT": settings.SUMMARY_TIME_LIMIT,
        "TRAINING_TIME_LIMIT": settings.TRAINING_TIME_LIMIT,
        "SCHEDULED_TIME_LIMIT": settings.SCHEDULED_TIME_LIMIT,
        "CELERY_TASK_TIME_LIMIT": settings.CELERY_TASK_TIME_LIMIT,
    }
    errors = [
        Error(
            f"{name} ({value}s) must be below CELERY_VISIBILITY_TIMEOUT ({timeout}s)",
            hint="Raise CELERY_VISIBILITY_TIMEOUT or lower the time limit.",
            id="jobs.E001",
        )
        for name, value in limits.items()
        if value >= timeout
    ]
    if settings.SUMMARY_STALE_AFTER <= 2 * settings.SUMMARY_HEARTBEAT_SECONDS:
        errors.append(
            Error(
                "SUMMARY_STALE_AFTER must be well above SUMMARY_HEARTBEAT_SECONDS, or the "
                "reaper requeues summaries that are still running",
                id="jobs.E002",
            )
        )
    if settings.TRAINING_STALE_AFTER <= 2 * settings.TRAINING_HEARTBEAT_SECONDS:
        errors.append(
            Error(
                "TRAINING_STALE_AFTER must be well above TRAINING_HEARTBEAT_SECONDS",
                id="jobs.E003",
            )
        )
    return errors


@register()
def labelled_validation_fraction(app_configs, **kwargs):
    """The share of newly staff-labelled texts held out for validation
    (``splits.labelled_split``): outside [0, 1], or not a number, every labelled text
    would silently go to one split."""
    fraction = settings.LABELLED_VALIDATION_FRACTION
    is_number = isinstance(fraction, int | float) and not isinstance(fraction, bool)
    if is_number and math.isfinite(fraction) and 0 <= fraction <= 1:
        return []
    return [
        Error(
            f"LABELLED_VALIDATION_FRACTION ({fraction!r}) must be a finite number in [0, 1]: "
            "the share of newly staff-labelled texts held out for validation",
            hint="Set the LABELLED_VALIDATION_FRACTION environment variable to e.g. 0.2.",
            id="jobs.E006",
        )
    ]


@register()
def task_limits_consistent(app_configs, **kwargs):
    """Every registered task of this project: soft <= hard < visibility timeout."""
    tasks = celery_tasks()
    errors: list[Error] = []
    for name in sorted(tasks):
        if not name.startswith("celery."):
            errors.extend(limit_errors(f"task '{name}'", effective_limits(tasks[name])))
    return errors


@register()
def static_beat_schedule(app_configs, **kwargs):
    """CELERY_BEAT_SCHEDULE: beat copies it into PeriodicTask rows when it starts."""
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {}
    entries = [(name, e["task"], e.get("options", {})) for name, e in schedule.items()]
    return schedule_errors(entries, "CELERY_BEAT_SCHEDULE entry")


@register(Tags.database)
def periodic_task_rows(app_configs, databases=None, **kwargs):
    """The enabled django-celery-beat PeriodicTask rows (what DatabaseScheduler sends).

    Tagged `database`: runs with `check --database default` and in `migrate`; before
    django_celery_beat's tables exist there is nothing to check."""
    if not databases or "default" not in databases:
        return []
    from django_celery_beat.models import PeriodicTask

    try:
        if PeriodicTask._meta.db_table not in connections["default"].introspection.table_names():
            return []
        rows = list(PeriodicTask.objects.filter(enabled=True).values_list("name", "task"))
    except DatabaseError:  # unreachable, or an older django_celery_beat schema
        return []
    return schedule_errors([(name, task, {}) for name, task in rows], "PeriodicTask")
