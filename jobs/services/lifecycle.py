"""What every job row (Summary, TrainingRun) shares: status, attempts, lease, heartbeat.

The database is the source of truth (DESIGN.md §2): the reaper finds jobs whose
worker or broker message was lost and sends them again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import JobStatus


def gave_up(attempts: int) -> str:
    return f"gave up after {attempts} attempts: the worker was lost each time"


def reap(model: Any, stale_after: int, enqueue: Callable[[Any], None]) -> tuple[int, int]:
    """Requeue lost jobs of `model`; returns (requeued, failed).

    RUNNING with a heartbeat older than `stale_after` seconds: the worker died; the
    job goes back to QUEUED, or to FAILED past JOB_MAX_ATTEMPTS. QUEUED and not sent
    for QUEUED_REENQUEUE_AFTER seconds: the message may be lost (Redis restart);
    sending it again is safe because the workers' claim is idempotent.
    """
    now = timezone.now()
    requeued = failed = 0
    stale_before = now - timedelta(seconds=stale_after)
    resend_before = now - timedelta(seconds=settings.QUEUED_REENQUEUE_AFTER)
    with transaction.atomic():
        for job in model.objects.select_for_update(skip_locked=True).filter(
            status=JobStatus.RUNNING, heartbeat_at__lt=stale_before
        ):
            if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                job.status, job.finished_at, job.error = (
                    JobStatus.FAILED,
                    now,
                    gave_up(job.attempts),
                )
                job.save(update_fields=["status", "finished_at", "error"])
                failed += 1
                continue
            job.status, job.lease_token = JobStatus.QUEUED, None
            job.save(update_fields=["status", "lease_token"])
            enqueue(job)
            requeued += 1
        for job in model.objects.select_for_update(skip_locked=True).filter(
            status=JobStatus.QUEUED, enqueued_at__lt=resend_before
        ):
            enqueue(job)
            requeued += 1
    return requeued, failed
