"""The lease fields every job row shares, and the two steps on them that are the same
for every job type: "does this attempt still hold the job" and "put it back in the queue".

The protocol around them (claim, heartbeat, finish, reap) is ``jobs.jobqueue``. A new
job type is a model that inherits :class:`LeasedJob` and names its task, its
``JobType`` in ``jobs.jobqueue.leases.JOB_TYPES`` (reaped and recovered from there),
and a worker body.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.utils import timezone

from .. import messages
from .choices import JobStatus


class LeasedJob(models.Model):
    """A job row: a status machine, attempts, a lease (token and owner) and a heartbeat.

    The database is the source of truth, the broker only a doorbell."""

    # The task that runs one, sent by name (``jobs.messages``); set by each job type.
    task_name: ClassVar[str]

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.UUIDField(
        null=True, blank=True, help_text="Identifies the attempt that owns the running job."
    )
    lease_owner = models.CharField(
        max_length=255,
        blank=True,
        help_text="The worker process holding the lease: nodename, incarnation, pid, start "
        "time (jobs.jobqueue.owners).",
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last sent to the broker.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True

    def holds(self, lease: uuid.UUID) -> bool:
        """Whether the attempt with `lease` still owns this job (read the row under a
        lock first): a later claim changes the token, a finish or cancel the status."""
        return self.lease_token == lease and self.status == JobStatus.RUNNING

    def enqueue(self) -> None:
        """Record when the job was sent and send its task on commit."""
        self.enqueued_at = timezone.now()
        type(self).objects.filter(pk=self.pk).update(enqueued_at=self.enqueued_at)
        messages.enqueue_on_commit(self.task_name, self.pk)

    def requeue(self, *also: str) -> None:
        """Back to QUEUED with the lease cleared, sent again on commit; `also`: other
        fields the caller changed that are saved with it."""
        self.status, self.lease_token, self.lease_owner = JobStatus.QUEUED, None, ""
        self.save(update_fields=["status", "lease_token", "lease_owner", *also])
        self.enqueue()
