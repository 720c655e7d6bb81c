"""Which exceptions mean that the database or the broker cannot be reached.

The API answers these with a 503 (jobs.api.errors), and a message that cannot be
sent after its row committed is left to the reaper (jobs.messages), instead
of a 500 for what is an outage, not a bug.
"""

from __future__ import annotations

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

BROKER_ERRORS = (BrokerOperationalError, RedisConnectionError, RedisTimeoutError)
DATABASE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError)


def unavailable_service(exc: BaseException) -> str | None:
    """ "database" or "broker" when `exc` is that service being unreachable, else None."""
    if isinstance(exc, DATABASE_ERRORS):
        return "database"
    if isinstance(exc, BROKER_ERRORS):
        return "broker"
    return None
