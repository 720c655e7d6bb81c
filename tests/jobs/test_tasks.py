"""jobs.summarize: a live-looking lease this worker cannot judge is retried once it can
have expired, never dropped; the worker signals set the owner id and requeue a killed
predecessor's jobs of the queues it consumes."""

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from jobs import tasks
from jobs.jobqueue import owners
from jobs.models import JobStatus, TrainingRun
from tests.factories import SummaryFactory

pytestmark = pytest.mark.django_db


class Retried(Exception):
    pass


def test_a_lease_held_on_another_node_is_retried_after_it_can_have_expired(monkeypatch, settings):
    settings.SUMMARY_STALE_AFTER = 30
    beat = timezone.now() - timedelta(seconds=25)
    summary = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=beat)
    countdowns = []

    def retry(countdown):
        countdowns.append(countdown)
        return Retried()

    monkeypatch.setattr(tasks.summarize, "retry", retry)
    with pytest.raises(Retried):
        tasks.summarize.run(summary.pk)
    assert len(countdowns) == 1 and 5 < countdowns[0] <= 6


def worker(hostname: str, *queues: str) -> SimpleNamespace:
    """What the worker signals get as their sender: its hostname and consumed queues."""
    consumed = SimpleNamespace(consume_from={name: object() for name in queues})
    return SimpleNamespace(
        hostname=hostname, app=SimpleNamespace(amqp=SimpleNamespace(queues=consumed))
    )


@pytest.mark.parametrize("queues", [("inference", "default"), ("training",)])
def test_a_worker_that_starts_requeues_its_killed_predecessors_jobs_of_its_queues(
    queues, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(owners, "_node", "")
    monkeypatch.setattr(owners, "_incarnation", "")
    sender = worker("w@here", *queues)
    tasks._identify(sender)
    assert owners.me().startswith("w@here ")
    killed = {"lease_owner": f"w@here earlier {os.getpid()}", "heartbeat_at": timezone.now()}
    killed.update(status=JobStatus.RUNNING, attempts=1)
    summary = SummaryFactory(**killed)
    run = TrainingRun.objects.create(kind="bertsumext", **killed)
    closed = []  # the pool forks from the main process: it keeps no connection
    monkeypatch.setattr(tasks, "connections", SimpleNamespace(close_all=lambda: closed.append(1)))
    with django_capture_on_commit_callbacks() as sent:
        tasks._recover(sender)
    assert closed == [1] and len(sent) == 1
    summary.refresh_from_db()
    run.refresh_from_db()
    requeued = summary if "inference" in queues else run
    left = run if requeued is summary else summary
    assert (requeued.status, requeued.attempts) == (JobStatus.QUEUED, 1)
    assert left.status == JobStatus.RUNNING  # another worker's queue: not this one's job


def test_a_summary_that_meets_a_database_outage_runs_again_later(monkeypatch, settings):
    """Nothing was stored (the database is down): the task is sent again after
    OUTAGE_RETRY_AFTER instead of failing and leaving the job to the reaper."""
    from django.db import OperationalError

    from jobs.workers import summarize as summarize_worker

    settings.OUTAGE_RETRY_AFTER = 7
    countdowns = []

    def retry(countdown):
        countdowns.append(countdown)
        return Retried()

    def down(summary_id):
        raise OperationalError("connection refused")

    monkeypatch.setattr(summarize_worker, "run", down)
    monkeypatch.setattr(tasks.summarize, "retry", retry)
    with pytest.raises(Retried):
        tasks.summarize.run(1)
    assert countdowns == [7]


def test_a_database_bug_is_not_retried_as_an_outage(monkeypatch):
    """Review finding: any OperationalError was retried every OUTAGE_RETRY_AFTER for
    ever (max_retries=None), so a missing column left the summary queued silently."""
    import sqlite3

    from django.db import OperationalError

    from jobs.workers import summarize as summarize_worker

    def buggy(summary_id):
        exc = OperationalError("no such column: x")
        raise exc from sqlite3.OperationalError("no such column: x")

    monkeypatch.setattr(summarize_worker, "run", buggy)
    monkeypatch.setattr(tasks.summarize, "retry", lambda countdown: Retried())
    with pytest.raises(OperationalError, match="no such column"):
        tasks.summarize.run(1)
