"""The API contract beyond single bad inputs: throttling (429 + Retry-After), the error
shape where Django answers (unknown URLs, DEBUG pages, unhandled errors), JSON Lines
split on "\\n" only, the streaming body limit, who may read the schema."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from django.core.cache import cache
from django.core.signals import got_request_exception
from rest_framework.test import APIClient

from jobs.api.errors import BodyTooLarge
from jobs.api.parsers import JSONLinesParser
from jobs.models import Document
from tests.factories import ARTICLE, UserFactory

pytestmark = pytest.mark.django_db


def assert_error_shape(resp, status: int) -> dict:
    assert resp.status_code == status, resp.content[:300]
    assert resp["Content-Type"].startswith("application/json")
    body = json.loads(resp.content)
    assert set(body) == {"detail", "errors"} and body["detail"] and isinstance(body["errors"], dict)
    return body


@pytest.fixture
def rates(settings):
    cache.clear()
    settings.THROTTLE_RATES = {"login_ip": "5/min", "login_user": "3/min", "uploads": "4/min"}
    yield settings.THROTTLE_RATES
    cache.clear()


def test_failed_logins_are_throttled_per_username(rates, user):
    client = APIClient()
    for _ in range(3):
        resp = client.post("/api/auth/token/", {"username": user.username, "password": "no"})
        assert resp.status_code == 400
    resp = client.post("/api/auth/token/", {"username": user.username, "password": "pass-word-123"})
    body = assert_error_shape(resp, 429)
    assert int(resp["Retry-After"]) > 0
    assert "throttled" in body["detail"].lower()
    # another username from the same address still gets in (until the per-IP limit)
    other = UserFactory()
    resp = client.post(
        "/api/auth/token/", {"username": other.username, "password": "pass-word-123"}
    )
    assert resp.status_code == 200


def test_failed_logins_are_throttled_per_address(rates):
    client = APIClient()
    for i in range(5):
        resp = client.post("/api/auth/token/", {"username": f"nobody{i}", "password": "x"})
        assert resp.status_code == 400
    assert_error_shape(client.post("/api/auth/token/", {"username": "z", "password": "x"}), 429)


def test_forwarded_for_does_not_dodge_the_address_throttle(rates):
    client = APIClient()
    for i in range(6):
        resp = client.post(
            "/api/auth/token/",
            {"username": f"nobody{i}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
    assert resp.status_code == 429


def test_successful_logins_do_not_count(rates, user):
    client = APIClient()
    for _ in range(6):
        resp = client.post(
            "/api/auth/token/", {"username": user.username, "password": "pass-word-123"}
        )
        assert resp.status_code == 200


def test_uploads_are_throttled_per_user(rates, api, user):
    doc = api.post("/api/documents/", {"text": ARTICLE}, format="json").json()
    api.post("/api/documents/batch/", [{"text": ARTICLE}], format="json")
    api.post(f"/api/documents/{doc['id']}/summarize/", {}, format="json")
    assert api.post("/api/documents/", {"text": ARTICLE}, format="json").status_code == 201
    resp = api.post("/api/documents/", {"text": ARTICLE}, format="json")
    assert_error_shape(resp, 429)
    assert resp.has_header("Retry-After")
    assert api.get("/api/documents/").status_code == 200  # reads are not uploads
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert other.post("/api/documents/", {"text": ARTICLE}, format="json").status_code == 201


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x1c", "\x0b", "\r"])
def test_json_lines_split_on_newline_only(api, separator):
    lines = [{"text": f"One{separator}two. Three."}, {"text": "Second document."}]
    body = "\n".join(json.dumps(item, ensure_ascii=False) for item in lines).encode()
    resp = api.post("/api/documents/batch/", body, content_type="application/x-ndjson")
    assert resp.status_code == 201, resp.content
    assert [d["text"] for d in resp.json()] == [lines[0]["text"], lines[1]["text"]]


def test_json_with_a_byte_order_mark_is_accepted(api):
    body = b"\xef\xbb\xbf" + json.dumps({"text": ARTICLE}).encode()
    assert api.post("/api/documents/", body, content_type="application/json").status_code == 201


def test_json_lines_stop_reading_at_the_limit(settings):
    """Without a Content-Length (a chunked body), the parser reads in chunks and stops
    at MAX_UPLOAD_BYTES instead of reading everything first."""
    settings.MAX_UPLOAD_BYTES = 1000
    stream = io.BytesIO((json.dumps({"text": "x" * 50}).encode() + b"\n") * 10_000)
    with pytest.raises(BodyTooLarge):
        JSONLinesParser().parse(stream)
    assert stream.tell() <= 1000 + 64 * 1024


def test_upload_limit_is_the_setting(api, settings):
    settings.MAX_UPLOAD_BYTES = 2000
    body = assert_error_shape(
        api.post("/api/documents/", {"text": "word " * 1000}, format="json"), 413
    )
    assert "2,000" in body["detail"]
    assert not Document.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_urls_get_json_404(api, settings, debug):
    settings.DEBUG = debug
    assert_error_shape(api.get("/api/nope/"), 404)
    assert_error_shape(api.get("/api/documents/abc/"), 404)
    assert api.get("/admin/login/").status_code == 200  # the rest of the site is untouched


def test_unhandled_errors_get_json_500(api, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("jobs.api.documents.submit_document", boom)
    reported = []

    def receiver(**kwargs):
        reported.append(sys.exc_info()[1])

    got_request_exception.connect(receiver)
    api.raise_request_exception = False  # the client re-raises a reported error by default
    try:
        with caplog.at_level(logging.ERROR, logger="django.request"):
            resp = api.post("/api/documents/", {"text": ARTICLE}, format="json")
    finally:
        got_request_exception.disconnect(receiver)
    body = assert_error_shape(resp, 500)
    assert "secret" not in body["detail"]
    # Reported as Django reports an uncaught error: error trackers and ADMINS mail see it.
    assert [type(e) for e in reported] == [RuntimeError]
    assert "Internal Server Error: /api/documents/" in caplog.text


def test_schema_and_docs_need_authentication(api):
    assert_error_shape(APIClient().get("/api/schema/"), 401)
    assert APIClient().get("/api/docs/").status_code == 401
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    doc = json.loads(schema.content)
    create = doc["paths"]["/api/documents/"]["post"]
    assert {"400", "401", "413", "415", "429"} <= set(create["responses"])
    batch = doc["paths"]["/api/documents/batch/"]["post"]["responses"]["201"]
    assert batch["content"]["application/json"]["schema"]["type"] == "array"  # not paginated
    model = doc["components"]["schemas"]["Summary"]["properties"]["model"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in model["oneOf"]


def test_multipart_accepts_the_json_options(staff):
    """Staff may give a split (tests/jobs/api/test_staff_only.py: others get 403)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(staff)
    resp = api.post(
        "/api/documents/",
        {
            "file": SimpleUploadedFile("n.md", ARTICLE.encode()),
            "split": "train",
            "reference_summary": "Boats.",
            "summarize": "false",
            "max_sentences": "2",
        },
        format="multipart",
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["split"] == "train" and resp.json()["summary"] is None


@pytest.mark.parametrize("filename", [b"ev\x00il.txt", b"evil\x00", b"../../etc/notes.md"])
def test_file_names_become_safe_titles(api, filename):
    """Django's multipart parser sanitizes file names (NUL, paths); the title derived
    from one never carries them."""
    from django.test.client import BOUNDARY, MULTIPART_CONTENT

    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + f'"\r\nContent-Type: text/plain\r\n\r\nSome text.\r\n--{BOUNDARY}--\r\n'.encode()
    )
    resp = api.generic("POST", "/api/documents/", body, content_type=MULTIPART_CONTENT)
    assert resp.status_code == 201, resp.content
    title = Document.objects.get().title
    assert "\x00" not in title and "/" not in title and title


def test_base_settings_cache_is_the_shared_redis():
    """Throttle counts outside the tests live in Redis (REDIS_URL; the embedded
    Redis's socket spelled unix:// for redis-py), shared by every web worker."""
    from django.core.cache.backends.redis import RedisCache

    from summarizer_project.settings import base

    config = base.CACHES["default"]
    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    shared = RedisCache(config["LOCATION"], {"KEY_PREFIX": "summarizer-test"})
    shared.set("probe", 1, 10)
    assert shared.get("probe") == 1
    shared.delete("probe")


def test_a_numeric_username_is_refused_not_coerced(db):
    # A number would be turned into "1234", authenticate as that user and escape the
    # per-username throttle, which counts string usernames only.
    UserFactory(username="1234")
    resp = APIClient().post(
        "/api/auth/token/", {"username": 1234, "password": "pass-word-123"}, format="json"
    )
    body = assert_error_shape(resp, 400)
    assert "username" in body["errors"]


def test_the_browsable_api_keeps_its_error_messages(api):
    # DRF renders its own errors; only Django's HTML pages are replaced by the JSON shape.
    resp = api.post("/api/documents/?format=api", {"colour": "red"}, format="json")
    assert resp.status_code == 400
    assert resp["Content-Type"].startswith("text/html")
    assert "unknown field" in resp.content.decode()
