"""Flower (Celery's monitoring UI) behind the admin: the same staff-only streaming
proxy as TensorBoard (``tensorboard.forward``).

Flower has no authentication of its own here, so it listens only on an internal
address (FLOWER_INTERNAL_URL) and runs with ``--url_prefix`` set to this page's
path, so the links it writes point back through the proxy. Only GET and HEAD
are forwarded: staff watch queues, workers and tasks; Flower's control actions
(revoke, shut down, resize a pool) are POSTs and are refused here, since they
would bypass the services (the database is the source of truth) and CSRF checks.
Flower also runs with ``--read_only`` (Flower 2.2), so it refuses them itself.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path

from .tensorboard import forward


def proxy(request: HttpRequest, subpath: str = "") -> HttpResponse:
    return forward(
        request,
        settings.FLOWER_INTERNAL_URL,
        subpath,
        name="Flower",
        methods=("GET", "HEAD"),
        prefixed=True,
    )


def urlpatterns() -> list:
    """For the project's urls.py, before the admin's own (its catch-all would 404)."""
    view = admin.site.admin_view(proxy)
    prefix = settings.FLOWER_URL_PREFIX
    return [
        path(f"{prefix}/", view, name="flower"),
        path(f"{prefix}/<path:subpath>", view, name="flower"),
    ]
