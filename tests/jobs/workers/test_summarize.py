"""The inference worker: a summary from claim to result, idempotent, errors recorded."""

import logging

import pytest

from jobs import engines
from jobs.models import JobStatus, Summary
from jobs.workers import summarize as summarize_worker
from tests.factories import ARTICLE, SummaryFactory

pytestmark = pytest.mark.django_db


def test_run_summary_default_falls_back_to_the_zero_label_default_and_says_so(settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    summary = SummaryFactory()
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED
    assert summary.model == "default"
    assert "used the zero-label default" in summary.notes
    assert "zero-label default: position-aware centrality for prose" in summary.notes
    assert summary.attempts == 1
    text = summary.document.text
    assert sum(s["selected"] for s in summary.sentences) == 3
    for s in summary.sentences:
        assert text[s["start"] : s["end"]] == s["text"]
    chosen = [s["text"] for s in summary.sentences if s["selected"]]
    assert summary.summary_text == " ".join(chosen)


def test_run_summary_textrank_selects_in_document_order():
    summary = SummaryFactory(requested_model="textrank", max_sentences=2)
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED
    assert summary.model == "textrank"
    selected = [s["index"] for s in summary.sentences if s["selected"]]
    assert len(selected) == 2
    assert selected == sorted(selected)


def test_run_summary_is_idempotent_for_finished_jobs():
    summary = SummaryFactory()
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    finished_at = summary.finished_at
    summarize_worker.run(summary.pk)  # a redelivered message
    summary.refresh_from_db()
    assert summary.attempts == 1
    assert summary.finished_at == finished_at


def test_run_summary_for_missing_row_is_a_noop(caplog):
    other = SummaryFactory()
    with caplog.at_level(logging.WARNING, logger="jobs.jobqueue.leases"):
        summarize_worker.run(987654)  # a deleted row: dropped, no raise
    assert "summary 987654 does not exist (deleted?); dropping the task" in caplog.text
    assert not Summary.objects.filter(pk=987654).exists()  # nothing made up for it
    other.refresh_from_db()
    assert (other.status, other.attempts) == (JobStatus.QUEUED, 0)  # nothing else touched


class Flaky:
    """Lead-3 that raises for any call that includes a document containing POISON,
    recording the size of every call."""

    def __init__(self):
        from ml.text.baselines import Lead

        self.lead, self.calls = Lead(3), []

    def summarize(self, texts, max_sentences=3):
        self.calls.append((len(texts), max_sentences))
        if any("POISON" in t for t in texts):
            raise RuntimeError("model exploded")
        return self.lead.summarize(list(texts), max_sentences=max_sentences)


@pytest.fixture
def flaky(monkeypatch):
    from jobs.engines import Resolved

    system = Flaky()
    resolved = Resolved("lead3", "builtin")
    monkeypatch.setattr(engines, "serve", lambda model: (system, resolved))
    return system


def test_queued_summaries_of_one_model_are_scored_in_one_call(flaky, settings):
    settings.INFERENCE_BATCH_SIZE = 4
    rows = [SummaryFactory(requested_model="lead3") for _ in range(6)]
    other = SummaryFactory(requested_model="textrank")
    summarize_worker.run(rows[0].pk)  # the doorbell of the oldest
    assert flaky.calls == [(4, 3)]
    for r in [*rows, other]:
        r.refresh_from_db()
    batch = rows[:4]
    assert [r.status for r in batch] == [JobStatus.SUCCEEDED] * 4
    assert len({r.batch_id for r in batch}) == 1 and batch[0].batch_id is not None
    assert len({r.lease_token for r in batch}) == 4  # each finished under its own lease
    assert [r.attempts for r in batch] == [1] * 4
    assert [r.status for r in rows[4:]] == [JobStatus.QUEUED] * 2
    assert other.status == JobStatus.QUEUED  # another model: not in this batch
    summarize_worker.run(rows[1].pk)  # a member's own doorbell, later: finished, dropped
    assert flaky.calls == [(4, 3)]


def test_one_bad_document_fails_only_its_own_job(flaky):
    good = SummaryFactory(requested_model="lead3")
    bad = SummaryFactory(requested_model="lead3", document__text="POISON. " + ARTICLE)
    last = SummaryFactory(requested_model="lead3")
    summarize_worker.run(good.pk)
    for r in (good, bad, last):
        r.refresh_from_db()
    assert (good.status, last.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
    assert bad.status == JobStatus.FAILED
    assert bad.error == "RuntimeError: model exploded"
    assert flaky.calls == [(3, 3), (1, 3), (1, 3), (1, 3)]  # batched, then one by one


def test_max_sentences_is_applied_per_job_in_one_batch(flaky):
    two = SummaryFactory(requested_model="lead3", max_sentences=2)
    one = SummaryFactory(requested_model="lead3", max_sentences=1)
    three = SummaryFactory(requested_model="lead3", max_sentences=2)
    summarize_worker.run(two.pk)
    for r in (two, one, three):
        r.refresh_from_db()
    assert [sum(s["selected"] for s in r.sentences) for r in (two, one, three)] == [2, 1, 2]
    assert sorted(flaky.calls) == [(1, 1), (2, 2)]
    assert two.batch_id == one.batch_id == three.batch_id


def test_engine_error_is_recorded_as_failed(flaky):
    summary = SummaryFactory(document__text="POISON. " + ARTICLE)
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert summary.error == "RuntimeError: model exploded"


def test_an_unavailable_model_fails_every_job_of_the_batch_with_the_reason(settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    rows = [SummaryFactory(requested_model="bertsumext") for _ in range(2)]
    summarize_worker.run(rows[0].pk)
    for r in rows:
        r.refresh_from_db()
        assert r.status == JobStatus.FAILED
        assert r.error.startswith("model 'bertsumext' has no trained version yet")


def test_a_time_limit_gives_the_unfinished_jobs_back(
    monkeypatch, django_capture_on_commit_callbacks
):
    from celery.exceptions import SoftTimeLimitExceeded

    from jobs.engines import Resolved

    class Slow:
        def summarize(self, texts, max_sentences=3):
            raise SoftTimeLimitExceeded()

    monkeypatch.setattr(engines, "serve", lambda m: (Slow(), Resolved("lead3", "builtin")))
    rows = [SummaryFactory() for _ in range(2)]
    with django_capture_on_commit_callbacks() as sent:
        summarize_worker.run(rows[0].pk)
    for r in rows:
        r.refresh_from_db()
        assert (r.status, r.attempts, r.lease_token) == (JobStatus.QUEUED, 1, None)
    assert len(sent) == 2  # both sent again


def test_a_batch_checks_model_availability_once(settings, tmp_path, monkeypatch):
    """One batch of a requested trained kind looks up its active version once (the
    worker does not check availability before engines.resolve checks it again)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.ml.fixtures.bertsumext import tiny_checkpoint

    settings.BERTSUMEXT_CHECKPOINT = str(tiny_checkpoint(tmp_path / "tiny"))
    settings.INFERENCE_BATCH_SIZE = 4
    monkeypatch.setattr(engines, "_cache", {})  # this test's own process-wide cache
    rows = [SummaryFactory(requested_model="bertsumext") for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        summarize_worker.run(rows[0].pk)
    for r in rows:
        r.refresh_from_db()
        assert (r.status, r.model, r.batch_id) == (
            JobStatus.SUCCEEDED,
            "bertsumext",
            rows[0].batch_id,
        )
    version_lookups = [q for q in queries.captured_queries if "jobs_modelversion" in q["sql"]]
    assert len(version_lookups) == 1, [q["sql"] for q in version_lookups]
