"""Celery beat's scheduler: django-celery-beat's DatabaseScheduler that also records a
send that fails (a SchedulingError: Celery refused the task's options or arguments)
as the schedule's last failure, so the front page shows it with its error within one
interval. Issue #14: beat's own counters grew while every send failed."""

from __future__ import annotations

from typing import Any

from celery.beat import SchedulingError
from django_celery_beat.schedulers import DatabaseScheduler

from .services import schedules


class RecordingScheduler(DatabaseScheduler):
    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any):
        try:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except SchedulingError as exc:
            # The cause (e.g. TypeError: unexpected keyword argument) says more than
            # the wrapper's "Couldn't apply scheduled task".
            cause = exc.__cause__ or exc.__context__ or exc
            schedules.record_failure_logged(entry.name, entry.task, cause)
            raise
