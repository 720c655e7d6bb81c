"""The training side of the job protocol: a hand-off to a new task, a dead holder."""

import uuid

import pytest
from django.utils import timezone

from jobs.models import JobStatus, TrainingRun
from jobs.services import leases

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
    run, lease = running_run(lease_owner="host:1:2")
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


def test_a_dead_holder_is_released_so_the_redelivered_task_claims_at_once():
    run, lease = running_run()
    assert leases.record_owner(leases.TRAINING_RUN, run.pk, lease, "host:10:20")
    assert not leases.record_owner(leases.TRAINING_RUN, run.pk, uuid.uuid4(), "other:1:1")
    asked = []

    def dead(held_by: str) -> bool:
        asked.append(held_by)
        return True

    assert leases.claim(leases.TRAINING_RUN, run.pk) is None  # a live lease, as before
    assert leases.release_if_owner_dead(leases.TRAINING_RUN, run.pk, dead)
    assert asked == ["host:10:20"]
    job, new_lease = leases.claim(leases.TRAINING_RUN, run.pk)
    assert new_lease != lease and job.attempts == 3  # the lost attempt counts


def test_a_live_or_unknown_holder_is_left_alone():
    run, _ = running_run(lease_owner="host:10:20")
    assert not leases.release_if_owner_dead(leases.TRAINING_RUN, run.pk, lambda held_by: False)
    unknown, _ = running_run()
    assert not leases.release_if_owner_dead(leases.TRAINING_RUN, unknown.pk, lambda held_by: True)
    for job in (run, unknown):
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING


def test_a_starting_worker_sends_again_only_the_runs_of_dead_holders(
    django_capture_on_commit_callbacks,
):
    dead, _ = running_run(lease_owner="host:10:20")
    alive, _ = running_run(lease_owner="host:11:21")
    unknown, _ = running_run()
    with django_capture_on_commit_callbacks(execute=False) as sent:
        count = leases.requeue_if_owner_dead(leases.TRAINING_RUN, lambda held: held == "host:10:20")
    assert count == 1 and len(sent) == 1
    statuses = dict(TrainingRun.objects.values_list("pk", "status"))
    assert statuses == {
        dead.pk: JobStatus.QUEUED,
        alive.pk: JobStatus.RUNNING,
        unknown.pk: JobStatus.RUNNING,
    }
    assert TrainingRun.objects.get(pk=dead.pk).enqueued_at is not None
