"""GET /healthz: database, broker and a worker canary; 503 when one is down."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from summarizer_project.celery import app


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


def _check_broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


def _ping_workers() -> list[str]:
    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception:
        return []
    return sorted(name for reply in replies for name in reply)


@require_GET
def healthz(request):
    database = _check_database()
    broker = _check_broker()
    workers = _ping_workers() if broker == "ok" else []
    healthy = database == "ok" and broker == "ok" and bool(workers)
    return JsonResponse(
        {
            "status": "ok" if healthy else "unhealthy",
            "database": database,
            "broker": broker,
            "workers": workers or "down: no worker answered",
        },
        status=200 if healthy else 503,
    )
