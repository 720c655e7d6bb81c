"""The submission path does each piece of work once: one model check per request, one
INSERT per table for a batch, one message per summary (issue #16)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs import messages
from jobs.models import Document, Summary
from tests.factories import ARTICLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoint(settings, tmp_path):
    """An operator checkpoint directory, so 'bertsumext' is available (never loaded here)."""
    settings.BERTSUMEXT_CHECKPOINT = str(tmp_path)
    return tmp_path


def _queries(ctx: CaptureQueriesContext, table: str, verb: str) -> int:
    return sum(
        1 for q in ctx.captured_queries if q["sql"].startswith(verb) and f'"{table}"' in q["sql"]
    )


def test_a_single_post_checks_the_model_once(api, checkpoint, django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks() as sent:
        resp = api.post("/api/documents/", {"text": ARTICLE, "model": "bertsumext"}, format="json")
    assert resp.status_code == 201, resp.content
    assert _queries(ctx, "jobs_modelversion", "SELECT") == 1
    assert _queries(ctx, "jobs_summary", "UPDATE") == 0  # enqueued_at is set by the INSERT
    assert _queries(ctx, "jobs_summary", "SELECT") == 0  # the answer lists the new one
    # a transaction around the model check, the two INSERTs and the look-up of copies
    # of the text (labels to share, training data it duplicates), nothing else
    assert len(ctx.captured_queries) == 6, [q["sql"][:80] for q in ctx.captured_queries]
    assert len(sent) == 1
    summary = Summary.objects.get(pk=resp.json()["summary"]["id"])
    assert summary.requested_model == "bertsumext"
    assert summary.enqueued_at is not None


def test_a_batch_is_inserted_in_bulk_with_one_message_per_summary(
    api, checkpoint, django_capture_on_commit_callbacks, monkeypatch
):
    items = [{"text": f"{ARTICLE} Item {i}.", "model": "bertsumext"} for i in range(6)]
    items[2]["summarize"] = False
    items[4]["model"] = "lead3"
    sent_tasks = []
    monkeypatch.setattr(
        messages.current_app, "send_task", lambda name, args, **kw: sent_tasks.append((name, args))
    )
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
        resp = api.post("/api/documents/batch/", items, format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert _queries(ctx, "jobs_document", "INSERT") == 1
    assert _queries(ctx, "jobs_summary", "INSERT") == 1
    assert _queries(ctx, "jobs_modelversion", "SELECT") == 1  # bertsumext, checked once
    assert _queries(ctx, "jobs_summary", "SELECT") == 0  # the answer lists the new ones
    summaries = Summary.objects.filter(document__in=[d["id"] for d in body])
    assert summaries.count() == 5
    assert sorted(sent_tasks) == sorted((messages.SUMMARIZE, [s.pk]) for s in summaries)
    assert [d["summary"] is None for d in body] == [False, False, True, False, False, False]
    assert [d["text"] for d in body] == [i["text"] for i in items]  # the order sent
    assert body[4]["summary"]["requested_model"] == "lead3"
    assert all(s.enqueued_at is not None for s in summaries)


def test_an_unavailable_model_in_a_batch_stores_nothing_and_names_every_item(api, settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    items = [
        {"text": ARTICLE, "model": "bertsumext"},
        {"text": ARTICLE},
        {"text": ARTICLE, "model": "bertsumext"},
    ]
    resp = api.post("/api/documents/batch/", items, format="json")
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"detail", "errors"}
    assert set(body["errors"]) == {"0", "2"}
    assert "no trained version" in body["detail"]
    assert Document.objects.count() == 0


def test_the_answers_serializer_fields_are_built_once_per_class(api, monkeypatch):
    from rest_framework import serializers

    from jobs.api import serializers as ours

    built = []
    original = serializers.ModelSerializer.get_fields

    def counting(self):
        built.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counting)
    for cls in (
        ours.DocumentCreatedSerializer,
        ours.SummarySerializer,
        ours.SummaryBriefSerializer,
    ):
        monkeypatch.delattr(cls, "_fields_once", raising=False)
    bodies = []
    for i in range(3):
        resp = api.post("/api/documents/", {"text": f"{ARTICLE} Take {i}."}, format="json")
        assert resp.status_code == 201, resp.content
        bodies.append(resp.json())
    assert sorted(built) == [
        "DocumentCreatedSerializer",
        "SummaryBriefSerializer",
        "SummarySerializer",
    ]
    first, last = bodies[0], bodies[-1]
    assert set(first) == set(last) and set(first["summary"]) == set(last["summary"])
    assert [s["id"] for s in last["summaries"]] == [last["summary"]["id"]]
    assert last["summaries"][0]["status"] == "queued"
