"""Batch claims: a dead owner's batch comes back whole, and which rows a
batch takes (the same model, QUEUED, oldest first, rows locked elsewhere skipped)."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.jobqueue import batches, owners
from jobs.models import JobStatus, Summary
from tests.factories import SummaryFactory

pytestmark = pytest.mark.django_db


def running(owner: str, **fields) -> Summary:
    fields = {"status": JobStatus.RUNNING, "attempts": 1, "heartbeat_at": timezone.now(), **fields}
    return SummaryFactory(lease_owner=owner, **fields)


def test_a_fresh_lease_of_a_dead_pool_process_is_taken_over_with_its_batch(worker_node, dead_pid):
    name, incarnation = worker_node
    dead = f"{name} {incarnation} {dead_pid}"
    first, mate = running(dead), running(dead)
    alive = running(owners.me())
    batch = batches.claim_batch(first.pk, 8)
    assert [m.job.pk for m in batch] == [first.pk, mate.pk]  # not the live owner's job
    for row in (first, mate):
        row.refresh_from_db()
        assert (row.status, row.attempts, row.lease_owner) == (JobStatus.RUNNING, 2, owners.me())
    alive.refresh_from_db()
    assert alive.attempts == 1


def test_a_batch_takes_the_oldest_queued_of_the_same_model_each_under_its_own_lease(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    rows = [SummaryFactory(requested_model="textrank") for _ in range(5)]
    SummaryFactory(requested_model="lead3")
    spent = SummaryFactory(requested_model="textrank", attempts=3)  # its own claim fails it
    batch = batches.claim_batch(rows[2].pk, 3)
    assert [m.job.pk for m in batch] == [rows[2].pk, rows[0].pk, rows[1].pk]
    assert len({m.lease for m in batch}) == 3
    stored = {s.pk: s for s in Summary.objects.filter(pk__in=[m.job.pk for m in batch])}
    assert {s.batch_id for s in stored.values()} == {batch[0].job.batch_id}
    assert all(s.status == JobStatus.RUNNING and s.attempts == 1 for s in stored.values())
    assert [m.lease for m in batch] == [stored[m.job.pk].lease_token for m in batch]
    spent.refresh_from_db()
    assert spent.status == JobStatus.QUEUED


def test_a_batch_that_is_not_full_waits_once_for_more(monkeypatch):
    first = SummaryFactory()
    waits = []

    def sleep(seconds):  # a summary arrives while the batch waits
        waits.append(seconds)
        SummaryFactory()

    monkeypatch.setattr(batches.time, "sleep", sleep)
    assert len(batches.claim(first.pk, 4, 0.02)) == 2
    assert waits == [0.02]
    assert len(batches.claim(SummaryFactory().pk, 4, 0)) == 1  # no wait configured
    assert waits == [0.02]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SKIP LOCKED needs PostgreSQL (SQLite has no row locks)",
)
def test_rows_locked_by_another_claim_are_skipped_not_waited_for():
    first, locked, free = (SummaryFactory() for _ in range(3))
    have_lock, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            list(Summary.objects.select_for_update().filter(pk=locked.pk))
            have_lock.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert have_lock.wait(10)
        batch = batches.claim_batch(first.pk, 8)
        assert [m.job.pk for m in batch] == [first.pk, free.pk]
    finally:
        release.set()
        holder.join()
    locked.refresh_from_db()
    assert locked.status == JobStatus.QUEUED


def test_finishing_a_batch_stores_each_outcome_only_under_its_own_lease(worker_node):
    jobs = [SummaryFactory(status=JobStatus.QUEUED, requested_model="lead3") for _ in range(3)]
    batch = batches.claim_batch(jobs[0].pk, 8)
    assert len(batch) == 3
    lost, cancelled = batch[1].job, batch[2].job
    # One lease lost to a reaper's requeue, one job ended meanwhile: neither is stored.
    Summary.objects.filter(pk=lost.pk).update(status=JobStatus.QUEUED, lease_token=None)
    Summary.objects.filter(pk=cancelled.pk).update(status=JobStatus.CANCELLED)
    done = {"status": JobStatus.SUCCEEDED, "summary_text": "ok", "error": ""}
    failed = {"status": JobStatus.FAILED, "error": "bad document"}
    with CaptureQueriesContext(connection) as ctx:
        stored = batches.finish([(batch[0], done), (batch[1], done), (batch[2], failed)])
    assert [m.job.pk for m in stored] == [batch[0].job.pk]
    assert sum(q["sql"].startswith("UPDATE") for q in ctx.captured_queries) == 1
    rows = {s.pk: s for s in Summary.objects.filter(pk__in=[j.pk for j in jobs])}
    first = rows[batch[0].job.pk]
    assert (first.status, first.summary_text, first.finished_at is not None) == (
        JobStatus.SUCCEEDED,
        "ok",
        True,
    )
    assert (rows[lost.pk].status, rows[lost.pk].summary_text) == (JobStatus.QUEUED, "")
    assert (rows[cancelled.pk].status, rows[cancelled.pk].error) == (JobStatus.CANCELLED, "")
    # A second finish of the same outcome (a redelivered batch) is refused: the lease is
    # still the same, but the job is no longer RUNNING.
    assert batches.finish([(batch[0], failed)]) == []
    first.refresh_from_db()
    assert first.status == JobStatus.SUCCEEDED
