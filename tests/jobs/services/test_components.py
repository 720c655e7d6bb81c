"""/healthz's components on the test suite's real Redis, with no worker or beat running
(tests/integration/test_components.py runs real ones)."""

from __future__ import annotations

import time

import pytest
from celery import current_app

from jobs.services import components


@pytest.fixture(autouse=True)
def fresh(settings):
    def clear():
        with current_app.connection_for_write() as conn:
            conn.default_channel.client.delete(components.BEAT_HEARTBEAT_KEY)
        components.forget_cached_report()

    clear()
    yield
    clear()


@pytest.mark.django_db
def test_a_missing_inference_worker_is_named_and_makes_healthz_503(client):
    resp = client.get("/healthz")
    body = resp.json()
    assert resp.status_code == 503
    assert (body["status"], body["database"], body["broker"]) == ("unhealthy", "ok", "ok")
    assert body["inference"] == "missing: no worker on the inference queue answered"
    assert body["training"].startswith("missing:")
    assert body["beat"] == "missing: no beat tick in the last 30s"
    assert body["missing"] == ["inference", "training", "beat"]
    assert body["required"] == ["database", "broker", "inference"]
    assert body["inference_workers"] == [] and body["workers"].startswith("down")


@pytest.mark.django_db
def test_components_that_are_not_required_are_reported_without_a_503(client, settings):
    settings.HEALTHZ_REQUIRED = []
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"
    assert resp.json()["missing"] == ["inference", "training", "beat"]


@pytest.mark.django_db
def test_a_beat_tick_makes_beat_ok_until_its_heartbeat_expires(client, settings):
    settings.BEAT_HEARTBEAT_TTL = 1
    settings.HEALTHZ_REQUIRED = ["beat"]
    components.record_beat_tick()
    resp = client.get("/healthz")
    assert (resp.status_code, resp.json()["beat"]) == (200, "ok")
    time.sleep(1.5)
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["beat"] == "missing: no beat tick in the last 1s"


@pytest.mark.django_db
def test_the_report_is_cached_for_healthz_cache_seconds(settings):
    settings.HEALTHZ_CACHE_SECONDS = 60.0
    assert components.health_report()["beat"].startswith("missing")
    components.record_beat_tick()
    assert components.health_report()["beat"].startswith("missing")  # cached
    settings.HEALTHZ_CACHE_SECONDS = 0.0
    assert components.health_report()["beat"] == "ok"
