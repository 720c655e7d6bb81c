"""Summaries: request one for a stored document, requeue a failed one."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs import engines
from jobs.models import JobStatus, ModelVersion
from jobs.services.errors import InvalidInput
from jobs.services.summaries import request_summary, requeue_summary, summarize_text
from tests.factories import ARTICLE, DocumentFactory, SummaryFactory

pytestmark = pytest.mark.django_db


def test_requeue_only_failed_or_cancelled():
    done = SummaryFactory(status=JobStatus.SUCCEEDED)
    failed = SummaryFactory(status=JobStatus.FAILED, attempts=3, error="x")
    assert requeue_summary(done) is False
    assert requeue_summary(failed) is True
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == (JobStatus.QUEUED, 0, "")


def test_request_summary_for_existing_document(user):
    doc = DocumentFactory(owner=user)
    summary = request_summary(doc, user, model="textrank", max_sentences=1)
    assert summary.requested_model == "textrank"
    assert summary.max_sentences == 1


class _System:
    """Stands in for the loaded model: what it was asked, not a summary."""

    def summarize(self, texts, max_sentences):
        return [(texts[0], max_sentences)]


@pytest.fixture
def active_version(tmp_path, monkeypatch):
    (tmp_path / "v1").mkdir()
    monkeypatch.setattr(engines, "get_system", lambda resolved: _System())
    return ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir=str(tmp_path / "v1"),
        is_active=True,
        promoted_at=timezone.now(),
    )


@pytest.mark.parametrize("model", ["bertsumext", ""])
def test_summarize_text_looks_the_model_up_once(active_version, model):
    """One ModelVersion query, whether the kind is named or the default (issue #25:
    validate_model's availability check and resolve each queried it)."""
    with CaptureQueriesContext(connection) as queries:
        result, resolved = summarize_text(ARTICLE, model, 2)
    assert [q["sql"].count("jobs_modelversion") > 0 for q in queries.captured_queries] == [True]
    assert resolved.version_id == active_version.pk
    assert result == (ARTICLE, 2)


def test_a_summary_requested_of_a_trained_kind_looks_it_up_once(active_version, user):
    document = DocumentFactory(owner=user)
    with CaptureQueriesContext(connection) as queries:
        request_summary(document, user, model="bertsumext")
    lookups = [q for q in queries.captured_queries if "jobs_modelversion" in q["sql"]]
    assert len(lookups) == 1


def test_summarize_text_refuses_a_kind_that_cannot_serve_as_a_request_does(settings, user):
    settings.BERTSUMEXT_CHECKPOINT = ""
    with pytest.raises(InvalidInput) as sync:
        summarize_text(ARTICLE, "bertsumext")
    with pytest.raises(InvalidInput) as queued:
        request_summary(DocumentFactory(owner=user), user, model="bertsumext")
    assert sync.value.field == queued.value.field == "model"
    assert sync.value.message == queued.value.message
    assert sync.value.message.startswith("model 'bertsumext' has no trained version yet;")
