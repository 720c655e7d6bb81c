"""The Flower proxy without Flower: a 502 that says where it was expected."""

import pytest

pytestmark = pytest.mark.django_db


def test_flower_proxy_says_when_flower_is_down(staff_client, settings):
    settings.FLOWER_INTERNAL_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    response = staff_client.get("/admin/flower/workers")
    assert response.status_code == 502
    text = response.content.decode()
    assert "Flower is not available" in text and "FLOWER_INTERNAL_URL" in text


def test_flowers_broker_page_knows_every_queue_before_it_has_seen_a_worker(settings):
    """Flower lists the queues its workers consume, or (none seen yet, e.g. just
    started) the app's declared ones: every queue a task is routed to, and the default."""
    from types import SimpleNamespace

    from flower.views import BaseHandler

    from summarizer_project.celery import app

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} == {"inference", "training", "default"}
    handler = SimpleNamespace(application=SimpleNamespace(workers={}), capp=app)
    assert BaseHandler.get_active_queue_names(handler) == ["default", "inference", "training"]


def test_only_the_tasks_table_may_post_and_only_from_this_site(staff_client, settings):
    settings.FLOWER_INTERNAL_URL = "http://127.0.0.1:9"  # nothing listens: 502 if forwarded
    assert staff_client.post("/admin/flower/api/task/revoke/x").status_code == 405
    assert staff_client.post("/admin/flower/tasks").status_code == 405
    datatable = "/admin/flower/tasks/datatable"
    assert staff_client.post(datatable, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert staff_client.post(datatable, headers={"origin": "http://evil.test"}).status_code == 403
    same_site = staff_client.post(datatable, headers={"origin": "http://testserver"})
    assert same_site.status_code == 502  # forwarded (Flower is down here)
