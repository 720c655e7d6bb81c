"""Periodic tasks: record each run's outcome (ScheduleRun) for the admin.

Beat's PeriodicTask.last_run_at and total_run_count count what beat *tried* to
send, even when sending failed (a SchedulingError); the task bodies record here
what actually ran, so the admin can show a schedule that stopped succeeding.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from ..models import ScheduleRun

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000


def _row(schedule: str, task: str):
    ScheduleRun.objects.get_or_create(schedule=schedule, defaults={"task": task})
    return ScheduleRun.objects.filter(schedule=schedule)


def record_success(schedule: str, task: str) -> None:
    _row(schedule, task).update(
        task=task, last_success_at=timezone.now(), successes=F("successes") + 1
    )


def record_failure(schedule: str, task: str, exc: Exception) -> None:
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    _row(schedule, task).update(
        task=task,
        last_failure_at=timezone.now(),
        last_error=error[:MAX_ERROR_CHARS],
        failures=F("failures") + 1,
    )


def record_failure_logged(schedule: str, task: str, exc: Exception) -> None:
    """record_failure, logging (never raising) a failure to record."""
    try:
        record_failure(schedule, task, exc)
    except DatabaseError:
        logger.exception("could not record the failure of %s", schedule)


@contextlib.contextmanager
def recorded(schedule: str, task: str) -> Iterator[None]:
    """Run a periodic task's body and record its success or its failure (re-raised)
    under `schedule`: the PeriodicTask that sent it, else the task's name.

    A failure to record is logged, never raised over the task's own outcome."""
    try:
        yield
    except Exception as exc:
        record_failure_logged(schedule, task, exc)
        raise
    try:
        record_success(schedule, task)
    except DatabaseError:
        logger.exception("could not record the success of %s", schedule)
