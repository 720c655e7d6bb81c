"""jobs.summarize: a live-looking lease this worker cannot judge is retried once it can
have expired, never dropped; the worker signals set the owner id and requeue a killed
predecessor's summaries."""

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from jobs import tasks
from jobs.models import JobStatus
from jobs.services import owners
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


def test_a_worker_that_starts_requeues_its_killed_predecessors_summaries(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(owners, "_node", "")
    monkeypatch.setattr(owners, "_incarnation", "")
    tasks._identify(SimpleNamespace(hostname="inference@here"))
    assert owners.me().startswith("inference@here ")
    killed = SummaryFactory(
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
        lease_owner=f"inference@here earlier {os.getpid()}",
    )
    closed = []  # the main process keeps no connection (here: the test's own, kept)
    monkeypatch.setattr(tasks, "connections", SimpleNamespace(close_all=lambda: closed.append(1)))
    with django_capture_on_commit_callbacks() as sent:
        tasks._recover(SimpleNamespace())
    assert closed == [1]
    killed.refresh_from_db()
    assert (killed.status, killed.attempts) == (JobStatus.QUEUED, 1)
    assert len(sent) == 1
