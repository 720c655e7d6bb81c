"""Hostile input, one table over every body path (JSON, JSON Lines, multipart, form) of
every write endpoint: each case gets its 4xx in the one error shape and writes nothing.
Runs on SQLite and on PostgreSQL (CI), which must answer alike."""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs.models import Document, ModelVersion, Summary, TrainingRun
from tests.factories import ARTICLE, DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

DOCS, BATCH, SUMMARIZE = (
    "/api/documents/",
    "/api/documents/batch/",
    "/api/documents/{doc}/summarize/",
)
RUNS, ROLLBACK, TOKEN = "/api/training-runs/", "/api/models/rollback/", "/api/auth/token/"
JSON, NDJSON, JSONL, FORM = (
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "application/x-www-form-urlencoded",
)
PATHS = (DOCS, BATCH, SUMMARIZE, RUNS, ROLLBACK, TOKEN)
HUGE = 10 * 1024 * 1024 + 1  # over the default MAX_UPLOAD_BYTES (5 MiB)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    path: str
    body: bytes
    content_type: str = JSON
    status: int = 400
    field: tuple[str, ...] = ()  # where `errors` must name the problem
    user: str = "staff"  # staff, other (not the document's owner), anonymous
    method: str = "post"
    extra: dict = dataclasses.field(default_factory=dict)


def j(obj) -> bytes:
    return json.dumps(obj).encode()


def multipart(**fields) -> bytes:
    return encode_multipart(BOUNDARY, fields)


def upload(name: str, data: bytes, content_type: str = "text/plain"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type)


DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_FIELD = b'{"text": ' + b"[" * 100 + b"1" + b"]" * 100 + b"}"
NAMELESS_FILE = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
    f"Content-Type: text/plain\r\n\r\nSome text.\r\n--{BOUNDARY}--\r\n"
).encode()

HTML_NUL_TITLE = (
    b"<html><head><title>Mill\x00news</title></head><body><p>Text here.</p></body></html>"
)

CASES = [
    # --- every path: body over the limit, nesting, wrong JSON type, empty/invalid bodies
    *[Case(f"huge-json-{p}", p, b"[" + b" " * HUGE + b"]", status=413) for p in PATHS],
    Case("huge-ndjson", BATCH, (j({"text": ARTICLE}) + b"\n") * (HUGE // 300), NDJSON, 413),
    Case("huge-jsonl", BATCH, (j({"text": ARTICLE}) + b"\n") * (HUGE // 300), JSONL, 413),
    Case(
        "huge-multipart", DOCS, multipart(file=upload("a.txt", b"x" * HUGE)), MULTIPART_CONTENT, 413
    ),
    Case("huge-form-token", TOKEN, b"username=" + b"a" * HUGE, FORM, 413),
    *[Case(f"deep-{p}", p, DEEP) for p in PATHS],
    Case("deep-ndjson", BATCH, j({"text": ARTICLE}) + b"\n" + DEEP, NDJSON),
    Case("deep-jsonl", BATCH, DEEP, JSONL),
    Case("deep-field", DOCS, DEEP_FIELD),
    Case("deep-params", RUNS, b'{"params": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}"),
    *[Case(f"list-body-{p}", p, b"[]") for p in (DOCS, SUMMARIZE, RUNS, ROLLBACK, TOKEN)],
    Case("object-for-batch", BATCH, j({"text": ARTICLE})),
    Case("string-body", DOCS, b'"text"'),
    Case("null-body", DOCS, b"null"),
    Case("empty-body", DOCS, b""),
    Case("empty-batch", BATCH, b"[]"),
    Case("empty-ndjson", BATCH, b"\n\n", NDJSON),
    Case("invalid-utf8", DOCS, b'{"text": "caf\xe9 au lait."}'),
    Case("invalid-utf8-ndjson", BATCH, b'{"text": "caf\xe9."}\n', NDJSON),
    Case("truncated-json", DOCS, b'{"text": "abc'),
    Case("bad-ndjson-line", BATCH, j({"text": ARTICLE}) + b"\n{bad\n", NDJSON),
    Case("nan", DOCS, b'{"text": "x.", "max_sentences": NaN}'),
    Case("infinity", SUMMARIZE, b'{"max_sentences": Infinity}'),
    Case("nan-ndjson", BATCH, b'{"text": "x.", "max_sentences": NaN}\n', NDJSON),
    Case("huge-float", DOCS, b'{"text": "x.", "max_sentences": 1e999}'),
    Case("huge-int", SUMMARIZE, b'{"max_sentences": ' + b"9" * 5000 + b"}"),
    Case("duplicate-keys", DOCS, b'{"text": "One.", "text": "Two."}'),
    Case("duplicate-keys-batch", BATCH, b'[{"model": "lead3", "model": "textrank", "text": "x."}]'),
    Case("text-plain", DOCS, b"just text", "text/plain", 415),
    Case("form-documents", DOCS, b"text=hello", FORM, 415),
    Case("xml-batch", BATCH, b"<docs/>", "application/xml", 415),
    Case("form-training", RUNS, b"kind=bertsumext", FORM, 415),
    # --- characters no database stores, in every stored field
    Case("nul-text", DOCS, j({"text": "a\x00b."}), field=("text",)),
    Case("nul-title", DOCS, j({"text": ARTICLE, "title": "a\x00"}), field=("title",)),
    Case(
        "nul-reference",
        DOCS,
        j({"text": ARTICLE, "reference_summary": "\x00"}),
        field=("reference_summary",),
    ),
    Case("surrogate-text", DOCS, b'{"text": "bad \\ud800 text."}', field=("text",)),
    Case("surrogate-title", DOCS, b'{"text": "ok.", "title": "\\udfff"}', field=("title",)),
    Case("surrogate-key", DOCS, b'{"text": "ok.", "\\ud800": 1}'),
    Case("nul-batch-item", BATCH, j([{"text": ARTICLE}, {"text": "\x00"}]), field=("1", "text")),
    Case(
        "nul-ndjson-line",
        BATCH,
        j({"text": ARTICLE}) + b"\n" + j({"text": ARTICLE, "title": "\x00"}),
        NDJSON,
        field=("1", "title"),
    ),
    Case("surrogate-jsonl", BATCH, b'{"text": "\\ud83d alone."}\n', JSONL, field=("0", "text")),
    Case("nul-params", RUNS, j({"params": {"max_steps": "\x00"}}), field=("params", "max_steps")),
    Case(
        "nul-username",
        TOKEN,
        j({"username": "a\x00", "password": "x"}),
        field=("username",),
        user="anonymous",
    ),
    Case(
        "nul-username-form",
        TOKEN,
        b"username=a%00&password=x",
        FORM,
        field=("username",),
        user="anonymous",
    ),
    Case(
        "nul-html-title",
        DOCS,
        multipart(file=upload("m.html", HTML_NUL_TITLE, "text/html")),
        MULTIPART_CONTENT,
        field=("title",),
    ),
    Case(
        "nul-upload-text",
        DOCS,
        multipart(file=upload("m.txt", b"Some\x00text.")),
        MULTIPART_CONTENT,
        field=("text",),
    ),
    Case(
        "nul-multipart-title",
        DOCS,
        multipart(file=upload("m.txt", b"Text."), title="a\x00"),
        MULTIPART_CONTENT,
        field=("title",),
    ),
    Case(
        "nul-multipart-reference",
        DOCS,
        multipart(file=upload("m.txt", b"Text."), reference_summary="\x00"),
        MULTIPART_CONTENT,
        field=("reference_summary",),
    ),
    # --- unknown fields, wrong types, out-of-range values
    Case("unknown-field", DOCS, j({"text": ARTICLE, "colour": "red"}), field=("colour",)),
    Case("unknown-field-batch", BATCH, j([{"text": ARTICLE, "colour": 1}]), field=("0", "colour")),
    Case(
        "unknown-field-ndjson",
        BATCH,
        j({"text": ARTICLE, "x": 1}) + b"\n",
        NDJSON,
        field=("0", "x"),
    ),
    Case("unknown-field-summarize", SUMMARIZE, j({"model": "lead3", "max": 2}), field=("max",)),
    Case("unknown-field-training", RUNS, j({"kind": "bertsumext", "steps": 5}), field=("steps",)),
    Case("unknown-field-rollback", ROLLBACK, j({"kind": "bertsumext", "to": 1}), field=("to",)),
    Case(
        "unknown-field-token",
        TOKEN,
        j({"username": "a", "password": "b", "otp": 1}),
        field=("otp",),
        user="anonymous",
    ),
    Case(
        "unknown-field-multipart",
        DOCS,
        multipart(file=upload("a.txt", b"Text."), colour="red"),
        MULTIPART_CONTENT,
        field=("colour",),
    ),
    Case("item-not-object", BATCH, j([{"text": ARTICLE}, 5]), field=("1",)),
    Case("ndjson-item-list", BATCH, b"[1, 2]\n", NDJSON, field=("0",)),
    Case("text-zero", DOCS, j({"text": 0}), field=("text",)),
    Case("title-zero", DOCS, j({"text": ARTICLE, "title": 0}), field=("title",)),
    Case(
        "reference-zero",
        DOCS,
        j({"text": ARTICLE, "reference_summary": 0}),
        field=("reference_summary",),
    ),
    Case("summarize-string", DOCS, j({"text": ARTICLE, "summarize": "yes"}), field=("summarize",)),
    Case("summarize-int", DOCS, j({"text": ARTICLE, "summarize": 1}), field=("summarize",)),
    Case(
        "max-sentences-string",
        DOCS,
        j({"text": ARTICLE, "max_sentences": "3"}),
        field=("max_sentences",),
    ),
    Case("max-sentences-bool", SUMMARIZE, j({"max_sentences": True}), field=("max_sentences",)),
    Case("max-sentences-float", SUMMARIZE, j({"max_sentences": 2.5}), field=("max_sentences",)),
    Case(
        "max-sentences-negative",
        DOCS,
        j({"text": ARTICLE, "max_sentences": -1}),
        field=("max_sentences",),
    ),
    Case("max-sentences-huge", SUMMARIZE, j({"max_sentences": 10**12}), field=("max_sentences",)),
    Case(
        "max-sentences-multipart",
        DOCS,
        multipart(file=upload("a.txt", b"Text."), max_sentences="many"),
        MULTIPART_CONTENT,
        field=("max_sentences",),
    ),
    Case("model-unknown", DOCS, j({"text": ARTICLE, "model": "gpt"}), field=("model",)),
    Case("model-zero", SUMMARIZE, j({"model": 0}), field=("model",)),
    Case("model-untrained", SUMMARIZE, j({"model": "bertsumext"}), field=("model",)),
    Case("model-untrained-batch", BATCH, j([{"text": ARTICLE, "model": "matchsum"}]), field=("0",)),
    Case("split-unknown", DOCS, j({"text": ARTICLE, "split": "dev"}), field=("split",)),
    Case("text-missing", DOCS, j({"title": "no text"}), field=("text",)),
    Case("text-blank", DOCS, j({"text": "   "}), field=("text",)),
    # --- uploads
    Case(
        "png-upload",
        DOCS,
        multipart(file=upload("a.png", b"\x89PNG\r\n", "image/png")),
        MULTIPART_CONTENT,
        field=("file",),
    ),
    Case("no-file-name", DOCS, NAMELESS_FILE, MULTIPART_CONTENT, field=("file",)),
    Case(
        "two-files",
        DOCS,
        multipart(file=[upload("a.txt", b"A."), upload("b.txt", b"B.")]),
        MULTIPART_CONTENT,
        field=("file",),
    ),
    Case(
        "other-file-field",
        DOCS,
        multipart(file=upload("a.txt", b"A."), doc=upload("b.txt", b"B.")),
        MULTIPART_CONTENT,
        field=("doc",),
    ),
    Case(
        "too-many-fields", DOCS, multipart(**{f"f{i}": "x" for i in range(1100)}), MULTIPART_CONTENT
    ),
    Case(
        "too-many-files",
        DOCS,
        multipart(**{f"f{i}": upload(f"{i}.txt", b"x") for i in range(120)}),
        MULTIPART_CONTENT,
    ),
    Case("no-file", DOCS, multipart(title="x"), MULTIPART_CONTENT, field=("file",)),
    Case(
        "upload-not-utf8",
        DOCS,
        multipart(file=upload("a.txt", b"\xff\xfe\x00bad")),
        MULTIPART_CONTENT,
        field=("file",),
    ),
    Case(
        "upload-empty",
        DOCS,
        multipart(file=upload("a.md", b"  \n ")),
        MULTIPART_CONTENT,
        field=("text",),
    ),
    # --- training and models
    Case("params-not-object", RUNS, j({"params": [1]}), field=("params",)),
    Case("params-unknown", RUNS, j({"params": {"nope": 1}}), field=("params",)),
    Case("params-wrong-type", RUNS, j({"params": {"max_steps": "many"}}), field=("params",)),
    Case("params-model-wrong-type", RUNS, j({"params": {"model": 5}}), field=("params",)),
    Case("kind-unknown", RUNS, j({"kind": "gpt"}), field=("kind",)),
    Case("kind-zero", ROLLBACK, j({"kind": 0}), field=("kind",)),
    Case("kind-missing", ROLLBACK, j({}), field=("kind",)),
    Case("no-training-data", RUNS, j({"kind": "bertsumext"})),
    Case("nothing-to-roll-back", ROLLBACK, j({"kind": "bertsumext"})),
    Case("not-staff-training", RUNS, j({"kind": "bertsumext"}), status=403, user="other"),
    # --- auth, ownership, methods, URLs
    Case(
        "wrong-password",
        TOKEN,
        j({"username": "staff-user", "password": "wrong"}),
        user="anonymous",
    ),
    Case("anonymous-upload", DOCS, j({"text": ARTICLE}), status=401, user="anonymous"),
    Case("bad-token", DOCS, j({"text": ARTICLE}), status=401, user="bad-token"),
    Case("not-owner-summarize", SUMMARIZE, j({}), status=404, user="other"),
    Case("method-not-allowed", DOCS, j({"text": ARTICLE}), status=405, method="put"),
    Case("unknown-api-url", "/api/nothing-here/", j({"text": ARTICLE}), status=404),
    Case("bad-content-length", DOCS, j({"text": ARTICLE}), extra={"CONTENT_LENGTH": "abc"}),
]


def _client(kind: str, staff, other) -> APIClient:
    client = APIClient()
    if kind == "staff":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    elif kind == "other":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    elif kind == "bad-token":
        client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    return client


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Document, Summary, TrainingRun, ModelVersion))


def test_the_table_covers_every_path_and_enough_cases():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(PATHS) <= {c.path for c in CASES}
    assert {JSON, NDJSON, JSONL, FORM, MULTIPART_CONTENT} <= {c.content_type for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gets_a_shaped_4xx_and_writes_nothing(case, settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    staff = UserFactory(username="staff-user", is_staff=True, is_superuser=True)
    other = UserFactory()
    doc = DocumentFactory(owner=staff)
    before = _counts()
    client = _client(case.user, staff, other)
    resp = client.generic(
        case.method.upper(),
        case.path.format(doc=doc.pk),
        case.body,
        content_type=case.content_type,
        **case.extra,
    )
    assert resp.status_code == case.status, resp.content[:500]
    assert resp["Content-Type"].startswith("application/json"), resp["Content-Type"]
    body = json.loads(resp.content)
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    assert isinstance(body["errors"], dict), body
    where = body["errors"]
    for key in case.field:
        assert key in where, (case.field, body)
        where = where[key]
    assert _counts() == before
