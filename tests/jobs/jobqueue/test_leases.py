"""The job protocol: claim (live lease, attempt cap), finish under the lease, the reaper."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import messages
from jobs.jobqueue import leases, owners
from jobs.jobqueue.leases import reap_stale_jobs
from jobs.models import JobStatus, Summary, TrainingRun
from jobs.services.training import start_training
from jobs.workers import summarize as summarize_worker
from tests.factories import SummaryFactory
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = pytest.mark.django_db


def test_a_live_lease_of_an_owner_nobody_here_can_judge_is_retried_when_it_can_be_stale(
    settings,
):
    settings.SUMMARY_STALE_AFTER = 30
    beat = timezone.now() - timedelta(seconds=10)
    summary = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=beat)
    with pytest.raises(leases.LeaseHeld) as held:
        summarize_worker.run(summary.pk)
    assert 20 < held.value.retry_in <= 21  # the lease's remaining 20 s, plus one
    summary.refresh_from_db()
    assert summary.status == JobStatus.RUNNING
    assert summary.attempts == 1


def test_attempt_cap_turns_a_poison_job_into_failed(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    summary = SummaryFactory(status=JobStatus.QUEUED, attempts=2)
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert "gave up after 2 attempts" in summary.error


def test_result_of_an_attempt_that_lost_its_lease_is_discarded():
    summary = SummaryFactory()
    claimed = leases.claim(leases.SUMMARY, summary.pk)
    assert claimed is not None
    _, lease = claimed
    # The reaper gave the job to another attempt meanwhile.
    Summary.objects.filter(pk=summary.pk).update(lease_token=None, status=JobStatus.QUEUED)
    assert leases.finish(leases.SUMMARY, summary.pk, lease, status=JobStatus.SUCCEEDED) is False
    summary.refresh_from_db()
    assert summary.status == JobStatus.QUEUED


def test_reaper_requeues_stale_running_and_resends_old_queued(
    settings, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(hours=1)
    stale = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=old)
    live = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())
    lost = SummaryFactory(status=JobStatus.QUEUED, enqueued_at=old)
    fresh = SummaryFactory(status=JobStatus.QUEUED, enqueued_at=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        result = reap_stale_jobs()
    assert result.requeued == 2
    assert len(callbacks) == 2
    for s in (stale, live, lost, fresh):
        s.refresh_from_db()
    assert stale.status == JobStatus.QUEUED and stale.lease_token is None
    assert live.status == JobStatus.RUNNING
    assert lost.enqueued_at > old
    # The requeued job then runs to completion.
    summarize_worker.run(stale.pk)
    stale.refresh_from_db()
    assert stale.status == JobStatus.SUCCEEDED
    assert stale.attempts == 2


def test_reaper_fails_a_stale_job_past_the_attempt_cap(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    old = timezone.now() - timedelta(hours=1)
    summary = SummaryFactory(status=JobStatus.RUNNING, attempts=3, heartbeat_at=old)
    assert reap_stale_jobs().failed == 1
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED


@pytest.mark.usefixtures("training_dirs")
def test_reaper_requeues_a_training_run_whose_worker_died(staff, settings):
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert reap_stale_jobs().requeued == 1
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED


# --- Lease owners: one claim path and one start-up recovery for both job types -------


def running_job(job_type, owner: str, **fields):
    """A RUNNING row of `job_type` with a fresh heartbeat, held by `owner`."""
    fields = {"status": JobStatus.RUNNING, "attempts": 1, "heartbeat_at": timezone.now(), **fields}
    if job_type is leases.SUMMARY:
        return SummaryFactory(lease_owner=owner, **fields)
    return TrainingRun.objects.create(kind="bertsumext", lease_owner=owner, **fields)


both_types = pytest.mark.parametrize(
    "job_type", [leases.SUMMARY, leases.TRAINING_RUN], ids=["summary", "training_run"]
)


@both_types
def test_a_fresh_lease_of_a_killed_pool_process_is_taken_over_at_once(
    job_type, worker_node, dead_pid
):
    node, incarnation = worker_node
    job = running_job(job_type, f"{node} {incarnation} {dead_pid}")
    _, lease = leases.claim(job_type, job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lease_token) == (JobStatus.RUNNING, 2, lease)
    assert job.lease_owner == owners.me()


@both_types
def test_a_fresh_lease_of_a_live_owner_is_left_alone(job_type, worker_node):
    job = running_job(job_type, owners.me())
    assert leases.claim(job_type, job.pk) is None  # a duplicate message: dropped
    job.refresh_from_db()
    assert job.attempts == 1


@both_types
def test_a_fresh_lease_of_another_node_is_held_and_a_stale_one_taken(
    job_type, worker_node, settings
):
    job = running_job(job_type, "test@elsewhere abc 1 2")
    with pytest.raises(leases.LeaseHeld):
        leases.claim(job_type, job.pk)
    old = timezone.now() - timedelta(seconds=job_type.stale_after + 1)
    job_type.model.objects.filter(pk=job.pk).update(heartbeat_at=old)
    claimed, _ = leases.claim(job_type, job.pk)
    assert claimed.attempts == 2


@both_types
def test_a_restarted_worker_requeues_its_earlier_incarnations_jobs(
    job_type, worker_node, django_capture_on_commit_callbacks
):
    node, incarnation = worker_node
    earlier = running_job(job_type, f"{node} before {os.getpid()}")
    mine = running_job(job_type, owners.me())
    other = running_job(job_type, f"test@elsewhere {incarnation} 1")
    with django_capture_on_commit_callbacks() as sent:
        assert leases.requeue_dead_owners(job_type) == 1
    assert len(sent) == 1
    for row in (earlier, mine, other):
        row.refresh_from_db()
    assert (earlier.status, earlier.lease_token, earlier.attempts) == (JobStatus.QUEUED, None, 1)
    assert (earlier.lease_owner, mine.status, other.status) == ("", "running", "running")
    assert earlier.enqueued_at is not None


def test_every_leased_job_model_is_reaped_and_recovered():
    """A job row the reaper does not know would never be sent again after a lost
    worker: each concrete LeasedJob model has one JobType in JOB_TYPES, with its task."""
    from django.apps import apps

    from jobs.jobqueue.leases import JOB_TYPES
    from jobs.models.leased import LeasedJob

    leased = {m for m in apps.get_app_config("jobs").get_models() if issubclass(m, LeasedJob)}
    assert sorted(t.model.__name__ for t in JOB_TYPES) == sorted(m.__name__ for m in leased)
    assert all(t.task in messages.QUEUES for t in JOB_TYPES)
