"""Summaries: request one for a stored document, requeue a failed one."""

import pytest

from jobs.models import JobStatus
from jobs.services.summaries import request_summary, requeue_summary
from tests.factories import DocumentFactory, SummaryFactory

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
