"""The job protocol every job row (a ``LeasedJob``: Summary, TrainingRun) follows:
claim, heartbeat, finish, reap.

The database is the source of truth, the broker only a doorbell: a worker that
gets a message claims the row (status RUNNING, a fresh lease token), keeps its
heartbeat fresh, and finishes only while it still holds the lease. The reaper
finds jobs whose worker or broker message was lost and sends them again;
sending again is safe because the claim is idempotent. Both job types record
their lease owner (``owners``): a claim takes over at once from a provably dead
one, and a worker that starts requeues its earlier incarnation's jobs (``recover``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import messages
from ..models import TERMINAL_STATUSES, JobStatus, Summary, TrainingRun
from . import owners

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobType:
    """What differs between the two kinds of job row."""

    model: Any  # the model class: Summary or TrainingRun (a LeasedJob)
    noun: str  # in log lines: "summary 3", "run 4"
    stale_after_setting: str  # seconds without a heartbeat before a job counts as lost
    select_related: tuple[str, ...] = ()
    gave_up_note: str = ""  # added to the error when a claim finds the attempts used up
    keep_first_start: bool = False  # started_at: the first attempt's (runs resume)
    batched: bool = False  # batch_id: the batch an attempt was claimed in

    @property
    def task(self) -> str:
        """The task that runs one (messages.SUMMARIZE, messages.TRAIN)."""
        return str(self.model.task_name)

    @property
    def stale_after(self) -> int:
        return getattr(settings, self.stale_after_setting)


SUMMARY = JobType(
    Summary,
    "summary",
    "SUMMARY_STALE_AFTER",
    select_related=("document",),
    gave_up_note=" (killed, out of memory or time limit)",
    batched=True,
)
TRAINING_RUN = JobType(TrainingRun, "run", "TRAINING_STALE_AFTER", keep_first_start=True)
# Every job type the reaper and a starting worker's recovery look after: a new
# LeasedJob model joins here, once.
JOB_TYPES: tuple[JobType, ...] = (SUMMARY, TRAINING_RUN)


# Logged when a finish finds its lease lost.
DISCARDED = "discarding this attempt's result"

CLAIM_FIELDS = ["status", "attempts", "lease_token", "started_at", "heartbeat_at", "error"]


@dataclass(frozen=True)
class ReapResult:
    requeued: int
    failed: int


def gave_up(attempts: int) -> str:
    return f"gave up after {attempts} attempts: the worker was lost each time"


class LeaseHeld(Exception):
    """The job's lease looks live and its owner cannot be checked from here (another
    node): the message is tried again once the lease can have expired."""

    def __init__(self, noun: str, pk: int, retry_in: float):
        super().__init__(f"{noun} {pk} is leased by a worker on another node")
        self.retry_in = retry_in


def _live_lease(job_type: JobType, job: Any, now: Any) -> bool:
    """Whether a fresh heartbeat means another attempt holds the job. A recorded owner
    that is provably dead (owners.is_dead) gives it up at once; one that cannot be
    judged from here raises LeaseHeld."""
    stale_before = now - timedelta(seconds=job_type.stale_after)
    if job.status != JobStatus.RUNNING or not job.heartbeat_at or job.heartbeat_at <= stale_before:
        return False
    dead = owners.is_dead(job.lease_owner)
    if dead is None:
        retry_in = (job.heartbeat_at - stale_before).total_seconds() + 1
        raise LeaseHeld(job_type.noun, job.pk, retry_in)
    if dead:
        logger.info("%s %s: owner %s is dead; taking over", job_type.noun, job.pk, job.lease_owner)
    return not dead


def _refuse(job_type: JobType, job: Any, now: Any) -> bool:
    """Whether a claim ends here: a finished job, a live lease, a cancel, no attempts left."""
    if job.status in TERMINAL_STATUSES:
        return True  # a redelivered message for a finished job
    if _live_lease(job_type, job, now):
        return True  # another worker holds a live lease: it finishes the job
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


def take(job_type: JobType, job: Any, now: Any, batch_id: uuid.UUID | None = None) -> uuid.UUID:
    """Give a locked, claimable row a fresh lease (attempt + 1); return the lease."""
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.lease_token = uuid.uuid4()
    job.heartbeat_at = now
    job.started_at = (job.started_at or now) if job_type.keep_first_start else now
    job.error = ""
    job.lease_owner = owners.me()
    fields = [*CLAIM_FIELDS, "lease_owner"]
    if job_type.batched:
        job.batch_id = batch_id
        fields.append("batch_id")
    job.save(update_fields=fields)
    return job.lease_token


def claim_locked(
    job_type: JobType, pk: int, now: Any, batch_id: uuid.UUID | None = None
) -> tuple[Any, uuid.UUID, str] | None:
    """`claim` inside the caller's transaction: (job, lease, the previous owner)."""
    rows = job_type.model.objects.select_for_update(of=("self",))  # not the document
    if job_type.select_related:
        rows = rows.select_related(*job_type.select_related)
    job = rows.filter(pk=pk).first()
    if job is None:
        logger.warning("%s %s does not exist (deleted?); dropping the task", job_type.noun, pk)
        return None
    if _refuse(job_type, job, now):
        return None
    previous = job.lease_owner if job.status == JobStatus.RUNNING else ""
    return job, take(job_type, job, now, batch_id), previous


def claim(job_type: JobType, pk: int) -> tuple[Any, uuid.UUID] | None:
    """Take the lease on a job, or return None if there is nothing to do.

    Raises LeaseHeld for a job with a live-looking lease whose owner this process
    cannot judge (the task retries it after the lease can have expired)."""
    with transaction.atomic():
        claimed = claim_locked(job_type, pk, timezone.now())
    return None if claimed is None else claimed[:2]


def requeue_dead_owners(job_type: JobType) -> int:
    """A worker that starts: its earlier incarnation's RUNNING jobs go back to QUEUED
    and are sent again now, not when their heartbeat goes stale (their messages sit
    in Redis's unacked set until the visibility timeout)."""
    if not owners.node():
        return 0
    requeued = 0
    with transaction.atomic():
        for job in job_type.model.objects.select_for_update(skip_locked=True).filter(
            status=JobStatus.RUNNING, lease_owner__startswith=f"{owners.node()} "
        ):
            if owners.is_dead(job.lease_owner):
                job.requeue()
                requeued += 1
    if requeued:
        logger.warning(
            "%s: requeued %d %s(s) of its earlier run", owners.node(), requeued, job_type.noun
        )
    return requeued


def recover(consumed_queues: Collection[str]) -> int:
    """At a worker's start: requeue_dead_owners for each job type whose queue it consumes."""
    return sum(
        requeue_dead_owners(job_type)
        for job_type in JOB_TYPES
        if messages.QUEUES[job_type.task] in consumed_queues
    )


def heartbeat(job_type: JobType, pk: int, lease: uuid.UUID, **fields: Any) -> bool:
    """Refresh the heartbeat (and write `fields`); False once the lease is lost."""
    updated = job_type.model.objects.filter(
        pk=pk, lease_token=lease, status=JobStatus.RUNNING
    ).update(heartbeat_at=timezone.now(), **fields)
    return bool(updated)


def heartbeat_many(job_type: JobType, leases: list[uuid.UUID]) -> int:
    """One heartbeat for a batch's jobs; returns how many leases are still held."""
    return int(
        job_type.model.objects.filter(lease_token__in=leases, status=JobStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


def held(rows: Any, pk: int, lease: uuid.UUID, noun: str, losing: str) -> Any | None:
    """Job `pk` locked, if the attempt with `lease` still holds it; else None, logged
    as "<noun> <pk>: lease lost, <losing>". In the caller's transaction."""
    job = rows.select_for_update().filter(pk=pk).first()
    if job is None or not job.holds(lease):
        logger.warning("%s %s: lease lost, %s", noun, pk, losing)
        return None
    return job


def finish(job_type: JobType, pk: int, lease: uuid.UUID, **fields: Any) -> bool:
    """Store the attempt's outcome if it still holds the lease; else discard it."""
    with transaction.atomic():
        job = held(job_type.model.objects, pk, lease, job_type.noun, DISCARDED)
        if job is None:
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
            job.requeue()
            requeued += 1
        for job in rows.select_for_update(skip_locked=True).filter(
            status=JobStatus.QUEUED, enqueued_at__lt=resend_before
        ):
            job.enqueue()
            requeued += 1
    if requeued or failed:
        logger.info("reaper: requeued %d, failed %d %ss", requeued, failed, job_type.noun)
    return ReapResult(requeued, failed)


def reap_stale_jobs() -> ReapResult:
    """Beat, every minute: requeue lost summaries and training runs."""
    results = [reap(job_type) for job_type in JOB_TYPES]
    return ReapResult(sum(r.requeued for r in results), sum(r.failed for r in results))


# --- Training runs: a continuation (jobs.workers.train) -----------------------------
# Kept apart from claim(): a training task that runs out of time hands its run to a
# new task from its checkpoint.


def hand_off_run(pk: int, lease: uuid.UUID, **fields: Any) -> bool:
    """End this attempt so that a new task continues the run from its checkpoint: back to
    QUEUED with the attempt given back (a continuation is not a lost attempt), counted
    in ``continuations``, the continuation sent on commit. False if the lease was lost."""
    with transaction.atomic():
        job = held(TrainingRun.objects, pk, lease, "run", "not continuing it from this attempt")
        if job is None:
            return False
        for name, value in fields.items():
            setattr(job, name, value)
        job.attempts = max(job.attempts - 1, 0)  # the next claim counts it again
        job.continuations += 1
        job.heartbeat_at = timezone.now()
        job.requeue(*fields, "attempts", "continuations", "heartbeat_at")
        return True
