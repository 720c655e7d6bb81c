"""The inference worker: a summary from claim to result, idempotent, errors recorded."""

import logging

import pytest

from jobs.models import JobStatus, Summary
from jobs.workers import summarize as summarize_worker
from tests.factories import SummaryFactory

pytestmark = pytest.mark.django_db


def test_run_summary_default_falls_back_to_lead3_and_says_so(settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    summary = SummaryFactory()
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED
    assert summary.model == "lead3"
    assert "lead3" in summary.notes
    assert summary.attempts == 1
    text = summary.document.text
    assert [s["selected"] for s in summary.sentences] == [True, True, True, False, False]
    for s in summary.sentences:
        assert text[s["start"] : s["end"]] == s["text"]
    assert summary.summary_text.startswith("The river festival opened")


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
    with caplog.at_level(logging.WARNING, logger="jobs.services.leases"):
        summarize_worker.run(987654)  # a deleted row: dropped, no raise
    assert "summary 987654 does not exist (deleted?); dropping the task" in caplog.text
    assert not Summary.objects.filter(pk=987654).exists()  # nothing made up for it
    other.refresh_from_db()
    assert (other.status, other.attempts) == (JobStatus.QUEUED, 0)  # nothing else touched


def test_engine_error_is_recorded_as_failed(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(summarize_worker, "summarize_text", boom)
    summary = SummaryFactory()
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert summary.error == "RuntimeError: model exploded"
