"""The training side of the job protocol: a hand-off to a new task (the dead-owner
takeover both job types share is in test_leases.py)."""

import uuid

import pytest
from django.utils import timezone

from jobs.jobqueue import leases
from jobs.models import JobStatus, TrainingRun

pytestmark = pytest.mark.django_db


def running_run(**fields) -> tuple[TrainingRun, uuid.UUID]:
    lease = uuid.uuid4()
    run = TrainingRun.objects.create(
        kind="bertsumext",
        status=JobStatus.RUNNING,
        attempts=2,
        lease_token=lease,
        heartbeat_at=timezone.now(),
        **fields,
    )
    return run, lease


def test_hand_off_gives_the_attempt_back_and_counts_a_continuation(
    django_capture_on_commit_callbacks,
):
    run, lease = running_run(lease_owner="training@here abc 1 2")
    with django_capture_on_commit_callbacks() as sent:
        assert leases.hand_off_run(run.pk, lease, progress_step=7)
    assert len(sent) == 1  # the continuation's message
    run.refresh_from_db()
    assert (run.status, run.attempts, run.continuations) == (JobStatus.QUEUED, 1, 1)
    assert (run.lease_token, run.lease_owner, run.progress_step) == (None, "", 7)
    assert run.enqueued_at is not None
    # The continuation's claim counts the attempt again: the total is unchanged.
    job, _ = leases.claim(leases.TRAINING_RUN, run.pk)
    assert job.attempts == 2


def test_hand_off_without_the_lease_changes_nothing(django_capture_on_commit_callbacks):
    run, _ = running_run()
    with django_capture_on_commit_callbacks() as sent:
        assert not leases.hand_off_run(run.pk, uuid.uuid4())
    assert sent == []
    run.refresh_from_db()
    assert (run.status, run.attempts, run.continuations) == (JobStatus.RUNNING, 2, 0)
