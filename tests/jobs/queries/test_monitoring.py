"""Queue monitoring on the real (embedded or CI) Redis: depth per queue in the broker
beside the database's QUEUED/RUNNING rows, workers, and a broker that is down."""

import pytest
from celery import current_app
from rest_framework.test import APIClient

from jobs.models import JobStatus
from jobs.queries import monitoring
from jobs.services.documents import DocumentInput, submit_document
from tests.factories import ARTICLE, SummaryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_queues(settings):
    settings.MONITORING_INSPECT_TIMEOUT = 0.2
    settings.MONITORING_CACHE_SECONDS = 0

    def purge():
        with current_app.connection_for_write() as conn:
            for name in monitoring.QUEUES:
                conn.default_channel.queue_purge(name)

    purge()
    yield
    purge()


def by_name(depths):
    return {d.name: d for d in depths}


def test_depth_counts_messages_in_redis_and_job_rows(
    user, empty_queues, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            submit_document(user, DocumentInput(text=ARTICLE))  # sends jobs.summarize
    SummaryFactory(status=JobStatus.RUNNING)
    depths, error = monitoring.queue_depths()
    assert error == ""
    inference = by_name(depths)["inference"]
    assert (inference.in_broker, inference.queued, inference.running) == (3, 3, 1)
    training, default = by_name(depths)["training"], by_name(depths)["default"]
    assert (training.in_broker, training.queued, training.running) == (0, 0, 0)
    assert (default.in_broker, default.queued) == (0, None)  # no job rows of its own


def test_no_worker_and_a_broker_that_is_down_are_said(empty_queues, monkeypatch):
    found = monitoring.workers()
    assert found.workers == [] and found.error == "no worker answered"
    with monkeypatch.context() as patch:  # a port nothing listens on
        patch.setattr(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")
        depths, error = monitoring.queue_depths()
    assert error.startswith("broker down: OperationalError")
    assert {d.in_broker for d in depths} == {None}
    assert monitoring.workers(error).error == f"not asked: {error}"


def test_health_details_are_staff_only(api, staff, empty_queues):
    assert api.get("/api/health/").status_code == 403
    assert APIClient().get("/api/health/").status_code == 401
    client = APIClient()
    client.force_authenticate(staff)
    body = client.get("/api/health/").json()
    assert [q["name"] for q in body["queues"]] == ["inference", "training", "default"]
    assert body["workers"] == [] and body["workers_error"] == "no worker answered"
    assert body["running"] == [] and isinstance(body["schedules"], list)
