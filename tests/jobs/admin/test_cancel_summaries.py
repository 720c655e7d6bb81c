"""The summary list's "Cancel" action: queued ones are cancelled, others left alone."""

import pytest
from django.urls import reverse

from jobs.models import JobStatus
from tests.factories import SummaryFactory

pytestmark = pytest.mark.django_db


def test_cancel_action_cancels_only_queued_summaries(staff_client):
    queued = SummaryFactory()
    running = SummaryFactory(status=JobStatus.RUNNING)
    response = staff_client.post(
        reverse("admin:jobs_summary_changelist"),
        {"action": "cancel", "_selected_action": [queued.pk, running.pk]},
        follow=True,
    )
    assert "Cancelled 1 of 2 summaries (1 already running or finished" in response.content.decode()
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.status, running.status) == (JobStatus.CANCELLED, JobStatus.RUNNING)
