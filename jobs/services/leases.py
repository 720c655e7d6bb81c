"""The job protocol every job row (Summary, TrainingRun) follows: claim, heartbeat,
finish, reap.

The database is the source of truth, the broker only a doorbell: a worker that
gets a message claims the row (status RUNNING, a fresh lease token), keeps its
heartbeat fresh, and finishes only while it still holds the lease. The reaper
finds jobs whose worker or broker message was lost and sends them again;
sending again is safe because the claim is idempotent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import TERMINAL_STATUSES, JobStatus, Summary, TrainingRun
from . import queue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobType:
    """What differs between the two kinds of job row."""

    model: Any  # the model class: Summary or TrainingRun
    noun: str  # in log lines: "summary 3", "run 4"
    task: str  # the task that runs one (queue.SUMMARIZE, queue.TRAIN)
    stale_after_setting: str  # seconds without a heartbeat before a job counts as lost
    select_related: tuple[str, ...] = ()
    gave_up_note: str = ""  # added to the error when a claim finds the attempts used up
    keep_first_start: bool = False  # started_at: the first attempt's (runs resume)

    @property
    def stale_after(self) -> int:
        return getattr(settings, self.stale_after_setting)


SUMMARY = JobType(
    Summary,
    "summary",
    queue.SUMMARIZE,
    "SUMMARY_STALE_AFTER",
    select_related=("document",),
    gave_up_note=" (killed, out of memory or time limit)",
)
TRAINING_RUN = JobType(
    TrainingRun, "run", queue.TRAIN, "TRAINING_STALE_AFTER", keep_first_start=True
)


CLAIM_FIELDS = ["status", "attempts", "lease_token", "started_at", "heartbeat_at", "error"]


@dataclass(frozen=True)
class ReapResult:
    requeued: int
    failed: int


def gave_up(attempts: int) -> str:
    return f"gave up after {attempts} attempts: the worker was lost each time"


def enqueue(job_type: JobType, job: Any) -> None:
    """Record when the job was sent and send its task on commit."""
    job.enqueued_at = timezone.now()
    job_type.model.objects.filter(pk=job.pk).update(enqueued_at=job.enqueued_at)
    queue.enqueue_on_commit(job_type.task, job.pk)


def _refuse(job_type: JobType, job: Any, now: Any) -> bool:
    """Whether a claim ends here: a finished job, a live lease, a cancel, no attempts left."""
    if job.status in TERMINAL_STATUSES:
        return True  # a redelivered message for a finished job
    stale_before = now - timedelta(seconds=job_type.stale_after)
    if job.status == JobStatus.RUNNING and job.heartbeat_at and job.heartbeat_at > stale_before:
        return True  # another worker holds a live lease
    if getattr(job, "cancel_requested", False):
        job.status, job.finished_at = JobStatus.CANCELLED, now
        job.save(update_fields=["status", "finished_at"])
        return True
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        job.status, job.finished_at = JobStatus.FAILED, now
        job.error = gave_up(job.attempts) + job_type.gave_up_note
        job.save(update_fields=["status", "error", "finished_at"])
        return True
    return False


def claim(job_type: JobType, pk: int) -> tuple[Any, uuid.UUID] | None:
    """Take the lease on a job, or return None if there is nothing to do."""
    now = timezone.now()
    with transaction.atomic():
        rows = job_type.model.objects.select_for_update()
        if job_type.select_related:
            rows = rows.select_related(*job_type.select_related)
        job = rows.filter(pk=pk).first()
        if job is None:
            logger.warning("%s %s does not exist (deleted?); dropping the task", job_type.noun, pk)
            return None
        if _refuse(job_type, job, now):
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.lease_token = uuid.uuid4()
        job.heartbeat_at = now
        job.started_at = (job.started_at or now) if job_type.keep_first_start else now
        job.error = ""
        job.save(
            update_fields=[
                "status",
                "attempts",
                "lease_token",
                "started_at",
                "heartbeat_at",
                "error",
            ]
        )
        return job, job.lease_token


def heartbeat(job_type: JobType, pk: int, lease: uuid.UUID, **fields: Any) -> bool:
    """Refresh the heartbeat (and write `fields`); False once the lease is lost."""
    updated = job_type.model.objects.filter(
        pk=pk, lease_token=lease, status=JobStatus.RUNNING
    ).update(heartbeat_at=timezone.now(), **fields)
    return bool(updated)


def finish(job_type: JobType, pk: int, lease: uuid.UUID, **fields: Any) -> bool:
    """Store the attempt's outcome if it still holds the lease; else discard it."""
    with transaction.atomic():
        job = job_type.model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.lease_token != lease or job.status != JobStatus.RUNNING:
            logger.warning("%s %s: lease lost, discarding this attempt's result", job_type.noun, pk)
            return False
        for name, value in fields.items():
            setattr(job, name, value)
        job.finished_at = job.heartbeat_at = timezone.now()
        job.save()
        return True


def reap(job_type: JobType) -> ReapResult:
    """Requeue lost jobs of one type.

    RUNNING with a heartbeat older than the type's stale_after: the worker died; the
    job goes back to QUEUED, or to FAILED past JOB_MAX_ATTEMPTS. QUEUED and not sent
    for QUEUED_REENQUEUE_AFTER seconds: the message may be lost (Redis restart).
    A requeued training run resumes from its last checkpoint.
    """
    now = timezone.now()
    requeued = failed = 0
    stale_before = now - timedelta(seconds=job_type.stale_after)
    resend_before = now - timedelta(seconds=settings.QUEUED_REENQUEUE_AFTER)
    rows = job_type.model.objects
    with transaction.atomic():
        for job in rows.select_for_update(skip_locked=True).filter(
            status=JobStatus.RUNNING, heartbeat_at__lt=stale_before
        ):
            if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                job.status, job.finished_at = JobStatus.FAILED, now
                job.error = gave_up(job.attempts)
                job.save(update_fields=["status", "finished_at", "error"])
                failed += 1
                continue
            job.status, job.lease_token = JobStatus.QUEUED, None
            job.save(update_fields=["status", "lease_token"])
            enqueue(job_type, job)
            requeued += 1
        for job in rows.select_for_update(skip_locked=True).filter(
            status=JobStatus.QUEUED, enqueued_at__lt=resend_before
        ):
            enqueue(job_type, job)
            requeued += 1
    if requeued or failed:
        logger.info("reaper: requeued %d, failed %d %ss", requeued, failed, job_type.noun)
    return ReapResult(requeued, failed)


def reap_stale_jobs() -> ReapResult:
    """Beat, every minute: requeue lost summaries and training runs."""
    results = [reap(SUMMARY), reap(TRAINING_RUN)]
    return ReapResult(sum(r.requeued for r in results), sum(r.failed for r in results))
