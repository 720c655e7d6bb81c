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
from collections.abc import Callable
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


# --- Training runs: a continuation, and a dead lease holder (jobs.workers.train) ----
# Kept apart from claim(): a training task that runs out of time hands its run to a
# new task, and a redelivered task releases a run whose holder is known to be dead.
# The holder functions take a JobType whose model has ``lease_owner`` (TrainingRun).


def hand_off_run(pk: int, lease: uuid.UUID, **fields: Any) -> bool:
    """End this attempt so that a new task continues the run from its checkpoint: back to
    QUEUED with the attempt given back (a continuation is not a lost attempt), counted
    in ``continuations``, the continuation sent on commit. False if the lease was lost."""
    with transaction.atomic():
        job = TrainingRun.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.lease_token != lease or job.status != JobStatus.RUNNING:
            logger.warning("run %s: lease lost, not continuing it from this attempt", pk)
            return False
        for name, value in fields.items():
            setattr(job, name, value)
        job.status, job.lease_token, job.lease_owner = JobStatus.QUEUED, None, ""
        job.attempts = max(job.attempts - 1, 0)  # the next claim counts it again
        job.continuations += 1
        job.heartbeat_at = timezone.now()
        job.save()
        enqueue(TRAINING_RUN, job)
        return True


def record_owner(job_type: JobType, pk: int, lease: uuid.UUID, owner: str) -> bool:
    """Note which worker process holds the lease (see release_if_owner_dead)."""
    rows = job_type.model.objects.filter(pk=pk, lease_token=lease, status=JobStatus.RUNNING)
    return bool(rows.update(lease_owner=owner))


def release_if_owner_dead(job_type: JobType, pk: int, is_dead: Callable[[str], bool]) -> bool:
    """Before a claim: put a RUNNING job whose lease holder ``is_dead`` back to QUEUED, so
    the claim takes it now instead of dropping the redelivered task as a live lease and
    leaving the job to the reaper. An unknown holder (none recorded) is left alone."""
    with transaction.atomic():
        job = job_type.model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status != JobStatus.RUNNING or not job.lease_owner:
            return False
        if not is_dead(job.lease_owner):
            return False
        logger.warning(
            "%s %s: its worker %s is dead; taking it over", job_type.noun, pk, job.lease_owner
        )
        job.status, job.lease_token, job.lease_owner = JobStatus.QUEUED, None, ""
        job.save(update_fields=["status", "lease_token", "lease_owner"])
        return True


def requeue_if_owner_dead(job_type: JobType, is_dead: Callable[[str], bool]) -> int:
    """At a worker's start: send again the RUNNING jobs whose holder ``is_dead`` (the
    previous worker on this host was killed whole; its unacknowledged message would
    come back only after the visibility timeout). Returns how many were sent."""
    held = job_type.model.objects.filter(status=JobStatus.RUNNING).exclude(lease_owner="")
    sent = 0
    for pk in held.values_list("pk", flat=True):
        with transaction.atomic():
            if release_if_owner_dead(job_type, pk, is_dead):
                enqueue(job_type, job_type.model.objects.get(pk=pk))
                sent += 1
    return sent
