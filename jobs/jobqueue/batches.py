"""Claiming a batch of summaries: the message is a doorbell for one summary; its task
also takes up to size-1 other QUEUED summaries of the same requested model.

Each member gets its own lease (attempt + 1) and is finished under it, so every
property of a single claim holds per job: a member's own message, delivered
later, finds it finished or leased and is dropped. ``skip_locked`` lets workers
on PostgreSQL claim side by side without waiting on each other's rows; SQLite
ignores it and serialises the claims instead (its transactions are IMMEDIATE,
settings.base), so no row is ever taken twice on either.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import JobStatus, Summary
from . import leases

logger = logging.getLogger(__name__)
# Written by every finish, beside the outcome's own fields.
_FINISH_STAMPS = ("finished_at", "heartbeat_at")


@dataclass(frozen=True)
class Member:
    job: Any  # a Summary with its document
    lease: uuid.UUID


def _mates(first: Any, dead_owner: str, limit: int) -> list[Any]:
    """Rows to claim with `first`, locked: a dead owner's other jobs first (its whole
    batch comes back in one piece), then the oldest QUEUED of the same model."""
    if limit <= 0:
        return []
    rows = (
        Summary.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("document")
        .filter(requested_model=first.requested_model, attempts__lt=settings.JOB_MAX_ATTEMPTS)
        .exclude(pk=first.pk)
    )
    orphans = []
    if dead_owner:
        orphans = list(rows.filter(status=JobStatus.RUNNING, lease_owner=dead_owner)[:limit])
    queued = rows.filter(status=JobStatus.QUEUED).order_by("id")[: limit - len(orphans)]
    return [*orphans, *queued]


def claim_batch(pk: int, size: int) -> list[Member]:
    """Claim summary `pk` and up to size-1 mates in one transaction; [] if `pk` has
    nothing to do. Raises leases.LeaseHeld as `leases.claim` does."""
    now, batch_id = timezone.now(), uuid.uuid4()
    with transaction.atomic():
        claimed = leases.claim_locked(leases.SUMMARY, pk, now, batch_id)
        if claimed is None:
            return []
        first, lease, previous = claimed
        dead_owner = previous if previous and previous != first.lease_owner else ""
        batch = [Member(first, lease)]
        for mate in _mates(first, dead_owner, size - 1):
            batch.append(Member(mate, leases.take(leases.SUMMARY, mate, now, batch_id)))
    return batch


def top_up(batch: list[Member], size: int) -> list[Member]:
    """Claim QUEUED mates for a batch that is not full, into the same batch."""
    first = batch[0].job
    now = timezone.now()
    with transaction.atomic():
        return [
            Member(mate, leases.take(leases.SUMMARY, mate, now, first.batch_id))
            for mate in _mates(first, "", size - len(batch))
        ]


def claim(pk: int, size: int, wait_s: float) -> list[Member]:
    """A batch for the doorbell of summary `pk`. A batch that is not full waits once,
    at most `wait_s`, for more: a lone job is delayed by no more than that."""
    batch = claim_batch(pk, size)
    if batch and len(batch) < size and wait_s > 0:
        time.sleep(wait_s)
        batch += top_up(batch, size)
    return batch


def release(members: list[Member]) -> int:
    """Give unfinished members back (QUEUED, sent again); their attempt stays counted,
    so a job that never fits in the time limit ends FAILED at the attempt cap."""
    released = 0
    with transaction.atomic():
        for member in members:
            job = Summary.objects.select_for_update().filter(pk=member.job.pk).first()
            if job is not None and job.holds(member.lease):
                job.requeue()
                released += 1
    return released


def finish(outcomes: list[tuple[Member, dict[str, Any]]]) -> list[Member]:
    """Store each member's outcome if it still holds its lease (as ``leases.finish``
    does per job), all in one transaction: one lock, one SELECT and one UPDATE per
    batch instead of one transaction per job, which on SQLite also means one wait
    for the write lock. Returns the members whose outcome was stored."""
    if not outcomes:
        return []
    now = timezone.now()
    stored, rows = [], []
    with transaction.atomic():
        pks = [m.job.pk for m, _ in outcomes]
        current = {j.pk: j for j in Summary.objects.select_for_update().filter(pk__in=pks)}
        for member, fields in outcomes:
            job = current.get(member.job.pk)
            if job is None or not job.holds(member.lease):
                logger.warning("summary %s: lease lost, %s", member.job.pk, leases.DISCARDED)
                continue
            for name, value in fields.items():
                setattr(job, name, value)
            job.finished_at = job.heartbeat_at = now
            rows.append(job)
            stored.append(member)
        if rows:  # every row was read under the lock, so its other fields are current
            names = {n for _, f in outcomes for n in f} | set(_FINISH_STAMPS)
            Summary.objects.bulk_update(rows, sorted(names))
    return stored
