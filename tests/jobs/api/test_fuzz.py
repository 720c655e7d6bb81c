"""Property-based API tests: schemathesis generates requests (valid and invalid) from
our own OpenAPI schema and runs every check it has on each answer: no 5xx, status
codes, content types, headers and bodies as documented, valid data accepted,
invalid data refused. Bounded and derandomized so `make test` stays fast and stable."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from jobs.engines import Resolved
from tests.factories import DocumentFactory, UserFactory

MAX_EXAMPLES = 25


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def _json_lines(ctx, value) -> bytes:
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item) for item in items).encode()


# Valid by the schema but refused by the state of this test database: wrong
# credentials, no training data, a run already going, nothing to roll back to.
STATEFUL_400 = r"^/api/(auth/token|training-runs|models/\{id\}/promote|models/rollback)/$"
STATEFUL = ["2xx", 400, 401, 403, 404, 409]
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-path-regex": STATEFUL_400,
                "checks": {"positive_data_acceptance": {"expected-statuses": STATEFUL}},
            },
        ]
    }
)
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=CONFIG
)
schema.app = get_wsgi_application()


# An upload must be UTF-8 text that is not blank, which OpenAPI cannot say of a binary
# part (the schema names its media types and a notes.txt file name): generate such text
# for those media types instead of random bytes.
UPLOAD_TEXT = (
    st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1)
    .filter(str.strip)
    .map(str.encode)
)
schemathesis.openapi.format("binary", UPLOAD_TEXT)
for _media_type in ("text/plain", "text/markdown", "text/html"):
    schemathesis.openapi.media_type(_media_type, UPLOAD_TEXT)


@schemathesis.hook
def filter_failure(ctx, failure, case, response) -> bool:
    """Form encoding sends every value as text: a generated `true` or `5` for a string
    field arrives as "true" or "5", a valid string, so such a `type` violation cannot
    be refused. Every other failure counts."""
    erased = (case.media_type or "").startswith("multipart/") and "violates `type`" in (
        failure.message or ""
    )
    return not erased


@pytest.fixture
def token(db, monkeypatch):
    # Every model counts as trained, so any model the schema allows is accepted (the
    # summaries are only queued; no worker runs here).
    # (The request path's one lookup is engines.resolve.)
    monkeypatch.setattr("jobs.engines.resolve", lambda kind: Resolved(kind or "default", "fuzz"))
    # Like Django's test client: keep the test transaction's connection open
    # across requests instead of closing it when each request finishes.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    user = UserFactory(is_staff=True, is_superuser=True)
    DocumentFactory(owner=user)
    yield Token.objects.create(user=user).key
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
