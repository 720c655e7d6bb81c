"""Which parts of the deployment are up, for /healthz (jobs.api.health).

Each component is "ok" or "missing: <why>" (the database and broker "down: ..."),
from something real: a query, a broker connection, the workers that answer a
Celery broadcast (``inspect active_queues``: a worker counts for each queue it
consumes, "inference" and "training"), and the heartbeat key beat writes at each
tick (jobs.beat). The report is cached briefly in this process, so a probe
every second costs one ping per HEALTHZ_CACHE_SECONDS, not one per request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection

from .. import messages

BEAT_HEARTBEAT_KEY = "summarizer:beat:heartbeat"
WORKER_KINDS = (messages.INFERENCE_QUEUE, messages.TRAINING_QUEUE)  # named after their queues
COMPONENTS = ("database", "broker", *WORKER_KINDS, "beat")

_cache_lock = threading.Lock()
_cached: tuple[float, dict[str, Any]] | None = None


def _redis_client(conn):
    """The redis-py client under a kombu Redis connection (tcp or unix socket)."""
    return conn.default_channel.client


def record_beat_tick() -> None:
    """Beat is alive: set the heartbeat key, expiring after BEAT_HEARTBEAT_TTL."""
    # The app's connection pool: no new broker socket at every tick.
    with current_app.pool.acquire(block=True, timeout=5) as conn:
        client = _redis_client(conn)
        client.set(BEAT_HEARTBEAT_KEY, f"{time.time():.3f}", ex=settings.BEAT_HEARTBEAT_TTL)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


def _broker_and_beat() -> tuple[str, str]:
    """(broker, beat): one connection answers both."""
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            beat = _redis_client(conn).get(BEAT_HEARTBEAT_KEY)
    except Exception as exc:
        return f"down: {type(exc).__name__}", "missing: the broker is down"
    if beat is None:
        return "ok", f"missing: no beat tick in the last {settings.BEAT_HEARTBEAT_TTL}s"
    return "ok", "ok"


def _workers_by_queue() -> dict[str, list[str]]:
    """Queue name -> the workers (node names) that answered and consume it."""
    try:
        inspect = current_app.control.inspect(timeout=settings.HEALTHZ_PING_TIMEOUT)
        replies = inspect.active_queues() or {}
    except Exception:
        return {}
    by_queue: dict[str, list[str]] = {}
    for node, queues in replies.items():
        for consumed in queues or []:
            by_queue.setdefault(consumed.get("name", ""), []).append(node)
    return {q: sorted(nodes) for q, nodes in by_queue.items()}


def _measure() -> dict[str, Any]:
    broker, beat = _broker_and_beat()
    by_queue = _workers_by_queue() if broker == "ok" else {}
    report: dict[str, Any] = {"database": _database(), "broker": broker}
    for kind in WORKER_KINDS:
        nodes = by_queue.get(kind, [])
        report[kind] = "ok" if nodes else f"missing: no worker on the {kind} queue answered"
        report[f"{kind}_workers"] = nodes
    report["beat"] = beat
    workers = sorted({n for nodes in by_queue.values() for n in nodes})
    report["workers"] = workers or "down: no worker answered"
    required = ["database", "broker", *settings.HEALTHZ_REQUIRED]
    missing = [c for c in COMPONENTS if report[c] != "ok"]
    report["status"] = "ok" if not set(missing) & set(required) else "unhealthy"
    report["required"] = required
    report["missing"] = missing
    return report


def health_report() -> dict[str, Any]:
    """The components' state; ``status`` "ok" when every required one is ok."""
    global _cached
    with _cache_lock:
        now = time.monotonic()
        if _cached is None or now - _cached[0] >= settings.HEALTHZ_CACHE_SECONDS:
            _cached = (now, _measure())
        return dict(_cached[1])


def forget_cached_report() -> None:
    """Measure afresh on the next call (tests that change what runs)."""
    global _cached
    with _cache_lock:
        _cached = None
