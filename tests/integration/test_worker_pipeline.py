"""Upload through the API, a real Celery worker on real Redis writes the summary."""

import time

import pytest
from rest_framework.test import APIClient

from jobs.models import JobStatus, Summary
from tests.factories import ARTICLE, UserFactory

pytestmark = pytest.mark.integration


def _wait_for(summary_ids, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Summary.objects.filter(pk__in=summary_ids))
        if rows and all(r.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for r in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(
        f"summaries not finished in {timeout}s: "
        f"{[(r.pk, r.status) for r in Summary.objects.filter(pk__in=summary_ids)]}"
    )


def test_upload_is_summarized_by_a_real_worker(celery_worker_process, client):
    user = UserFactory()
    api = APIClient()
    token = api.post(
        "/api/auth/token/", {"username": user.username, "password": "pass-word-123"}
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    single = api.post("/api/documents/", {"text": ARTICLE, "max_sentences": 2}, format="json")
    assert single.status_code == 201
    batch = api.post(
        "/api/documents/batch/",
        [{"text": ARTICLE, "model": "textrank"}, {"text": "하나. 둘째 문장이다. 셋째 문장이다."}],
        format="json",
    )
    assert batch.status_code == 201
    ids = [single.json()["summary"]["id"], *(d["summary"]["id"] for d in batch.json())]

    rows = {r.pk: r for r in _wait_for(ids)}
    assert all(r.status == JobStatus.SUCCEEDED for r in rows.values()), [
        (r.pk, r.error) for r in rows.values()
    ]
    first = api.get(f"/api/summaries/{ids[0]}/").json()
    assert first["model"] == "default" and "zero-label default" in first["notes"]
    assert sum(s["selected"] for s in first["sentences"]) == 2
    assert rows[ids[1]].model == "textrank"
    assert rows[ids[0]].attempts == 1

    # The worker answers the health check's canary.
    health = client.get("/healthz")
    assert health.status_code == 200, health.json()
    assert health.json()["workers"]
