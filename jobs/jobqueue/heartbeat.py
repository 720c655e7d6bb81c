"""Threads that keep running jobs' heartbeats fresh (and a training run's cancel flag)."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from django.db import connection

from . import leases

logger = logging.getLogger(__name__)


class Heartbeat:
    """Beats every `interval` seconds while the job runs (``with Heartbeat(...)``).

    The trainer's own progress callback is not enough: preprocessing thousands
    of documents or a long validation pass can take minutes between steps.
    """

    def __init__(self, job_type: leases.JobType, pk: int, lease: uuid.UUID, interval: float):
        self.job_type, self.pk, self.lease, self.interval = job_type, pk, lease, interval
        self.cancelled = False
        self.lease_lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{pk}", daemon=True)

    def beat(self, **fields: Any) -> None:
        if not leases.heartbeat(self.job_type, self.pk, self.lease, **fields):
            self.lease_lost = True
        elif self.job_type.model.objects.filter(pk=self.pk, cancel_requested=True).exists():
            self.cancelled = True

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except Exception:
                    logger.exception("%s %s: heartbeat failed", self.job_type.noun, self.pk)
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class BatchHeartbeat(Heartbeat):
    """One heartbeat for every job of an inference batch (one UPDATE per beat).

    Torch releases the GIL while it computes, so the beats keep coming during a
    long batched forward pass; a killed process stops beating, and its jobs go
    stale after SUMMARY_STALE_AFTER (the reaper's backstop).
    """

    def __init__(self, job_type: leases.JobType, batch_leases: list[uuid.UUID], interval: float):
        super().__init__(job_type, 0, batch_leases[0], interval)
        self.leases = batch_leases

    def beat(self, **fields: Any) -> None:
        if leases.heartbeat_many(self.job_type, self.leases) < len(self.leases):
            self.lease_lost = True  # finish() discards the lost ones' results
