"""Celery beat's scheduler: django-celery-beat's DatabaseScheduler, plus two records.

- A send that fails (a SchedulingError: Celery refused the task's options or
  arguments) is recorded as the schedule's last failure, so the front page shows it
  with its error within one interval. Issue #14: beat's own counters grew while every
  send failed.
- Every tick writes a heartbeat key to the broker: beat answers no Celery ping, so
  this is how /healthz sees it (jobs.services.components).
"""

from __future__ import annotations

import logging
from typing import Any

from celery.beat import SchedulingError
from django_celery_beat.schedulers import DatabaseScheduler

from .services import schedules
from .services.components import record_beat_tick

logger = logging.getLogger(__name__)


class RecordingScheduler(DatabaseScheduler):
    def tick(self, *args: Any, **kwargs: Any):
        try:
            record_beat_tick()
        except Exception as exc:  # a broker outage must not stop beat's own retries
            logger.warning("beat heartbeat not recorded: %s: %s", type(exc).__name__, exc)
        return super().tick(*args, **kwargs)

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any):
        try:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except SchedulingError as exc:
            # The cause (e.g. TypeError: unexpected keyword argument) says more than
            # the wrapper's "Couldn't apply scheduled task".
            cause = exc.__cause__ or exc.__context__ or exc
            schedules.record_failure_logged(entry.name, entry.task, cause)
            raise
