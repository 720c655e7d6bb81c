"""REST API for clients: the documents and summaries contract, owner scoping and clear 4xx
on bad input."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from jobs.models import Document, Summary
from jobs.services.summaries import request_summary
from jobs.workers import summarize as summarize_worker
from tests.factories import ARTICLE, DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_token_auth_round_trip(user):
    client = APIClient()
    resp = client.post("/api/auth/token/", {"username": user.username, "password": "pass-word-123"})
    assert resp.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {resp.json()['token']}")
    assert client.get("/api/documents/").status_code == 200


def test_anonymous_is_refused():
    assert APIClient().get("/api/documents/").status_code == 401
    assert APIClient().post("/api/documents/", {"text": ARTICLE}, format="json").status_code == 401


def test_create_json_returns_document_and_queued_summary(api, user):
    resp = api.post(
        "/api/documents/",
        {"text": ARTICLE, "title": "Fest", "reference_summary": "Boats.", "max_sentences": 2},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["title"] == "Fest"
    assert body["text"] == ARTICLE
    assert body["summary"]["status"] == "queued"
    assert body["summary"]["max_sentences"] == 2
    assert Document.objects.get(pk=body["id"]).owner == user


def test_summary_detail_after_worker_ran(api):
    resp = api.post("/api/documents/", {"text": ARTICLE, "model": "lead3"}, format="json")
    summary_id = resp.json()["summary"]["id"]
    summarize_worker.run(summary_id)
    body = api.get(f"/api/summaries/{summary_id}/").json()
    assert body["status"] == "succeeded"
    assert body["model"] == "lead3"
    assert set(body) >= {
        "id",
        "document",
        "status",
        "model",
        "model_version",
        "sentences",
        "summary",
        "error",
        "created_at",
        "finished_at",
    }
    indexes = [s["index"] for s in body["sentences"]]
    assert indexes == sorted(indexes)
    for s in body["sentences"]:
        assert ARTICLE[s["start"] : s["end"]] == s["text"]
    assert body["summary"] == " ".join(s["text"] for s in body["sentences"] if s["selected"])


def test_without_a_trained_model_the_zero_label_default_serves_and_says_so(api, settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    resp = api.post("/api/documents/", {"text": ARTICLE}, format="json")
    summary_id = resp.json()["summary"]["id"]
    summarize_worker.run(summary_id)
    body = api.get(f"/api/summaries/{summary_id}/").json()
    assert body["status"] == "succeeded"
    assert body["model"] == "default" and body["model_version"] == "builtin"
    assert (
        "No trained BertSumExt model is active yet; used the zero-label default." in (body["notes"])
    )
    assert "zero-label default: position-aware centrality for prose" in body["notes"]
    assert sum(s["selected"] for s in body["sentences"]) == 3


def test_the_zero_label_default_by_name(api):
    resp = api.post("/api/documents/", {"text": ARTICLE, "model": "default"}, format="json")
    assert resp.status_code == 201, resp.content
    summary_id = resp.json()["summary"]["id"]
    summarize_worker.run(summary_id)
    body = api.get(f"/api/summaries/{summary_id}/").json()
    assert body["requested_model"] == "default" and body["model"] == "default"
    assert body["notes"].startswith("zero-label default:")


def test_multipart_html_upload(api):
    html = b"<html><head><title>Mill news</title><style>p{}</style></head><body>" + (
        b"<p>The old mill reopened as a museum on Friday.</p>"
        b"<p>Visitors queued for an hour to see the restored wheel.</p>"
        b"<script>alert(1)</script><p>Entry is free this month.</p></body></html>"
    )
    resp = api.post(
        "/api/documents/",
        {"file": SimpleUploadedFile("mill.html", html, "text/html")},
        format="multipart",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["title"] == "Mill news"
    assert "alert" not in body["text"] and "p{}" not in body["text"]
    assert body["text"].startswith("The old mill reopened")


@pytest.mark.parametrize("name", ["notes.txt", "notes.md"])
def test_multipart_text_upload(api, name):
    f = SimpleUploadedFile(name, ARTICLE.encode(), "text/plain")
    resp = api.post("/api/documents/", {"file": f, "max_sentences": 1}, format="multipart")
    assert resp.status_code == 201, resp.content
    assert resp.json()["text"] == ARTICLE
    assert resp.json()["summary"]["max_sentences"] == 1


@pytest.mark.parametrize(
    ("payload", "kwargs", "needle"),
    [
        ({"text": ""}, {"format": "json"}, "text"),
        ({"text": "   "}, {"format": "json"}, "empty"),
        ({"title": "no text"}, {"format": "json"}, "text"),
        ({"text": ARTICLE, "model": "gpt"}, {"format": "json"}, "model"),
        ({"text": ARTICLE, "max_sentences": 0}, {"format": "json"}, "max_sentences"),
        ({"text": ARTICLE, "max_sentences": "three"}, {"format": "json"}, "max_sentences"),
        ({"text": ARTICLE, "model": "bertsumext"}, {"format": "json"}, "no trained version"),
        ("{not json", {"content_type": "application/json"}, "JSON parse error"),
        ("[1, 2]", {"content_type": "application/json"}, "one JSON object"),
        ("text=hello", {"content_type": "text/plain"}, "Unsupported media type"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_nothing_is_stored(api, payload, kwargs, needle, settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    resp = api.post("/api/documents/", payload, **kwargs)
    assert 400 <= resp.status_code < 500, resp.content
    assert needle in resp.content.decode()
    assert not Document.objects.exists()
    assert not Summary.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("doc.pdf", b"%PDF-1.4", "unsupported file type"),
        ("doc.txt", b"\xff\xfe\x00bad", "not UTF-8"),
        ("doc.txt", b"   ", "empty"),
    ],
)
def test_bad_uploads(api, name, data, needle):
    resp = api.post("/api/documents/", {"file": SimpleUploadedFile(name, data)}, format="multipart")
    assert resp.status_code == 400
    assert needle in resp.content.decode()
    assert not Document.objects.exists()


def test_batch_json_list(api):
    resp = api.post(
        "/api/documents/batch/",
        [{"text": ARTICLE, "title": "a"}, {"text": ARTICLE, "title": "b", "summarize": False}],
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert [d["title"] for d in body] == ["a", "b"]
    assert body[0]["summary"]["status"] == "queued"
    assert body[1]["summary"] is None


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl"])
def test_batch_json_lines(api, content_type):
    lines = "\n".join(json.dumps({"text": ARTICLE, "title": t}) for t in "xyz") + "\n\n"
    resp = api.post("/api/documents/batch/", lines, content_type=content_type)
    assert resp.status_code == 201, resp.content
    assert Document.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        ('{"text": "x"}', "application/json", "JSON list"),
        ("[]", "application/json", "empty"),
        ('[{"text": "ok text."}, {"text": ""}]', "application/json", '"1"'),
        ('[{"text": "ok text."}, 5]', "application/json", "JSON object"),
        ('{"text": "fine."}\n{bad', "application/x-ndjson", "line 2"),
    ],
)
def test_bad_batches_store_nothing(api, body, content_type, needle):
    resp = api.post("/api/documents/batch/", body, content_type=content_type)
    assert resp.status_code == 400, resp.content
    assert needle in resp.content.decode()
    assert not Document.objects.exists()


def test_batch_size_limit(api, settings):
    settings.MAX_BATCH_DOCUMENTS = 2
    resp = api.post("/api/documents/batch/", [{"text": ARTICLE}] * 3, format="json")
    assert resp.status_code == 400
    assert "limit is 2" in resp.content.decode()
    assert not Document.objects.exists()


def test_owner_scoping(api, user):
    mine = DocumentFactory(owner=user)
    theirs = DocumentFactory(owner=UserFactory())
    listed = api.get("/api/documents/").json()
    assert [d["id"] for d in listed["results"]] == [mine.pk]
    assert api.get(f"/api/documents/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/documents/{theirs.pk}/summarize/", {}, format="json").status_code == 404
    their_summary = request_summary(theirs, theirs.owner)
    assert api.get(f"/api/summaries/{their_summary.pk}/").status_code == 404


def test_owner_deletes_a_document_with_its_summaries(api, user):
    doc = DocumentFactory(owner=user)
    summary = request_summary(doc, user)
    theirs = DocumentFactory(owner=UserFactory())
    assert api.delete(f"/api/documents/{theirs.pk}/").status_code == 404
    assert Document.objects.filter(pk=theirs.pk).exists()

    assert api.delete(f"/api/documents/{doc.pk}/").status_code == 204
    assert api.get(f"/api/documents/{doc.pk}/").status_code == 404
    assert not Summary.objects.filter(pk=summary.pk).exists()
    summarize_worker.run(summary.pk)  # its task arrives after the delete: dropped quietly
    assert not Summary.objects.filter(pk=summary.pk).exists()
    assert api.delete(f"/api/documents/{doc.pk}/").status_code == 404


def test_resummarize(api, user):
    doc = DocumentFactory(owner=user)
    resp = api.post(
        f"/api/documents/{doc.pk}/summarize/",
        {"model": "textrank", "max_sentences": 1},
        format="json",
    )
    assert resp.status_code == 202
    assert resp.json()["requested_model"] == "textrank"
    bad = api.post(f"/api/documents/{doc.pk}/summarize/", {"model": "nope"}, format="json")
    assert bad.status_code == 400
    assert doc.summaries.count() == 1


def test_pagination(api, user):
    DocumentFactory.create_batch(25, owner=user)
    page = api.get("/api/documents/").json()
    assert page["count"] == 25
    assert len(page["results"]) == 20
    assert page["next"]


def test_schema_and_docs(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/documents/", "/api/documents/batch/", "/api/summaries/{id}/"} <= set(paths)
    assert api.get("/api/docs/").status_code == 200


def test_healthz_reports_missing_worker_as_503(client):
    resp = client.get("/healthz")
    body = resp.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    # No worker listens on the test suite's Redis database here.
    assert resp.status_code == 503
    assert body["workers"].startswith("down")
