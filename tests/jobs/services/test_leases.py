"""The job protocol: claim (live lease, attempt cap), finish under the lease, the reaper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import JobStatus, Summary, TrainingRun
from jobs.services import leases
from jobs.services.leases import reap_stale_jobs
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
