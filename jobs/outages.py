"""Which exceptions mean that the database or the broker cannot be reached.

The API answers these with a 503 (jobs.api.errors), and a message that cannot be
sent after its row committed is left to the reaper (jobs.messages), instead
of a 500 for what is an outage, not a bug.

Django raises OperationalError for more than outages: SQLite reports a missing table
or column and "too many SQL variables" with it, PostgreSQL a program limit (SQLSTATE
class 54) or an internal error (XX). Those are bugs and stay 500s (logged as errors).
"""

from __future__ import annotations

import sqlite3

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

BROKER_ERRORS = (BrokerOperationalError, RedisConnectionError, RedisTimeoutError)
DATABASE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError)
# SQLite's OperationalErrors that are the file being unavailable, not the query wrong.
SQLITE_OUTAGES = ("database is locked", "unable to open database", "disk i/o error")
# PostgreSQL SQLSTATE classes of OperationalError that are a bug in the query or server.
POSTGRESQL_BUG_CLASSES = ("54", "XX")


def is_database_outage(exc: BaseException) -> bool:
    """`exc` says the database cannot be reached (or is too busy), not that a query is wrong."""
    if isinstance(exc, DatabaseInterfaceError):
        return True
    if not isinstance(exc, DatabaseOperationalError):
        return False
    cause = exc.__cause__  # the driver's error (Django re-raises it wrapped)
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause).lower().startswith(SQLITE_OUTAGES)
    sqlstate = getattr(cause, "sqlstate", None)
    return not (isinstance(sqlstate, str) and sqlstate.startswith(POSTGRESQL_BUG_CLASSES))


def unavailable_service(exc: BaseException) -> str | None:
    """ "database" or "broker" when `exc` is that service being unreachable, else None."""
    if is_database_outage(exc):
        return "database"
    if isinstance(exc, BROKER_ERRORS):
        return "broker"
    return None
