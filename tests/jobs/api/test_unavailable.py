"""An unreachable database or broker is a 503 in the API's error shape with
Retry-After (jobs.api.errors), never Django's HTML 500; a message that cannot be sent
after its row committed is left to the reaper and the upload still succeeds. The
outages themselves, through real servers: tests/integration/test_outages.py."""

import json

import pytest
from django.core.cache import cache
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from jobs import messages
from jobs.api import documents, throttles
from jobs.models import JobStatus, Summary
from tests.factories import ARTICLE

pytestmark = pytest.mark.django_db


def assert_unavailable(resp, service: str) -> None:
    assert resp.status_code == 503, resp.content[:300]
    assert resp["Content-Type"].startswith("application/json")
    assert int(resp["Retry-After"]) > 0
    body = json.loads(resp.content)
    assert body == {"detail": f"the {service} is unavailable; try again shortly", "errors": {}}


def test_a_database_outage_in_a_view_is_a_503(api, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(documents.DocumentViewSet, "list", down)
    assert_unavailable(api.get("/api/documents/"), "database")


def test_a_database_outage_while_authenticating_is_a_503(user, monkeypatch):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(Token.objects, "select_related", down)
    resp = APIClient().get("/api/documents/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert_unavailable(resp, "database")


def test_a_broker_outage_at_the_throttle_is_a_503(api, settings, monkeypatch):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "uploads": "10/min"}

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(throttles, "increment", down)
    assert_unavailable(api.post("/api/documents/", {"text": ARTICLE}, format="json"), "broker")
    cache.clear()


def test_a_message_not_sent_after_commit_leaves_the_row_to_the_reaper(
    api, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise BrokerOperationalError("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(messages.current_app, "send_task", down)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.post("/api/documents/", {"text": ARTICLE}, format="json")
    assert resp.status_code == 201, resp.content
    summary = Summary.objects.get(pk=resp.json()["summary"]["id"])
    assert summary.status == JobStatus.QUEUED and summary.enqueued_at is not None


def test_a_programming_error_the_database_reports_stays_a_500(api, monkeypatch):
    """Review finding: every django.db.OperationalError was a 503 "database unavailable"
    (logged as a warning only), but SQLite reports a missing table or column, and
    PostgreSQL a program limit, as OperationalError too: bugs, not outages, that must
    reach the error log as a 500."""
    from django.db import DatabaseError, connection, transaction

    def buggy(*args, **kwargs):
        # A savepoint, so PostgreSQL's aborted statement leaves the test's transaction usable.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT missing_column FROM jobs_document")

    monkeypatch.setattr(documents.DocumentViewSet, "list", buggy)
    # SQLite: OperationalError "no such column"; PostgreSQL: ProgrammingError.
    with pytest.raises(DatabaseError, match=r"no such column|does not exist"):
        api.get("/api/documents/")
    # The server answers it as the 500 it is, never as an outage.
    api.raise_request_exception = False
    resp = api.get("/api/documents/")
    assert resp.status_code == 500, resp.content[:300]
    assert json.loads(resp.content)["detail"] == "internal server error; the error was logged"


def test_which_database_errors_are_outages():
    import sqlite3

    import psycopg.errors

    from jobs.outages import unavailable_service

    def wrapped(cause):
        exc = OperationalError(str(cause))
        exc.__cause__ = cause
        return exc

    assert unavailable_service(OperationalError("connection refused")) == "database"
    assert unavailable_service(wrapped(sqlite3.OperationalError("database is locked")))
    assert unavailable_service(wrapped(sqlite3.OperationalError("unable to open database file")))
    assert unavailable_service(wrapped(psycopg.OperationalError("connection failed")))
    assert unavailable_service(wrapped(psycopg.errors.AdminShutdown("terminating connection")))
    assert unavailable_service(wrapped(psycopg.errors.CannotConnectNow("starting up")))
    assert unavailable_service(wrapped(psycopg.errors.TooManyConnections("too many")))
    assert unavailable_service(wrapped(sqlite3.OperationalError("no such table: x"))) is None
    assert unavailable_service(wrapped(sqlite3.OperationalError("too many SQL variables"))) is None
    assert unavailable_service(wrapped(psycopg.errors.StatementTooComplex("too complex"))) is None
