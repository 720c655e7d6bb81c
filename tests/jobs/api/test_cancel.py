"""POST /api/summaries/{id}/cancel/: the owner cancels a queued summary; 409 after."""

import pytest
from rest_framework.test import APIClient

from jobs.models import JobStatus, Summary
from jobs.workers import summarize as summarize_worker
from tests.factories import DocumentFactory, SummaryFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_owner_cancels_a_queued_summary_and_it_never_runs(api, user):
    summary = SummaryFactory(document=DocumentFactory(owner=user))
    resp = api.post(f"/api/summaries/{summary.pk}/cancel/")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["status"] == "cancelled" and body["finished_at"]
    # The message already in the broker arrives later: the claim drops it.
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert (summary.status, summary.attempts, summary.sentences) == ("cancelled", 0, [])
    assert f"cancelled by {user}" in summary.notes


@pytest.mark.parametrize("status", ["running", "succeeded", "failed", "cancelled"])
def test_a_summary_that_is_not_queued_gets_409(api, user, status):
    summary = SummaryFactory(document=DocumentFactory(owner=user), status=status)
    resp = api.post(f"/api/summaries/{summary.pk}/cancel/")
    assert resp.status_code == 409
    assert resp.json() == {
        "detail": f"summary {summary.pk} is {status}; only a queued summary can be cancelled",
        "errors": {},
    }
    assert Summary.objects.get(pk=summary.pk).status == status


def test_someone_elses_summary_is_404_and_anonymous_401(api):
    other = SummaryFactory(document=DocumentFactory(owner=UserFactory()))
    resp = api.post(f"/api/summaries/{other.pk}/cancel/")
    assert resp.status_code == 404 and set(resp.json()) == {"detail", "errors"}
    assert APIClient().post(f"/api/summaries/{other.pk}/cancel/").status_code == 401
    assert Summary.objects.get(pk=other.pk).status == JobStatus.QUEUED


def test_the_schema_documents_cancel_with_409(api):
    schema = api.get("/api/schema/?format=json").json()
    responses = schema["paths"]["/api/summaries/{id}/cancel/"]["post"]["responses"]
    assert {"200", "401", "404", "409"} <= set(responses)
