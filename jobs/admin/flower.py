"""Flower (Celery's monitoring UI) behind the admin: the same staff-only streaming
proxy as TensorBoard (``tensorboard.forward``).

Flower has no authentication of its own here, so it listens only on an internal
address (FLOWER_INTERNAL_URL) and runs with ``--url_prefix`` set to this page's
path, so the links it writes point back through the proxy. GET and HEAD are
forwarded, and one POST: the Tasks page's table loads its rows by POSTing its
paging and search to ``tasks/datatable``, which only reads. Flower's control actions
(revoke, shut down, resize a pool) are POSTs too and are refused here (405), since
they would bypass the services (the database is the source of truth); Flower also
runs with ``--read_only`` (Flower 2.2), so it refuses them itself.

CSRF: Flower's script cannot send Django's token, so the datatable POST is exempt
from Django's check and checked here instead: a browser's POST from another site
(Sec-Fetch-Site, or an Origin that is not this host) is refused (403), and the
session cookie is SameSite=Lax besides. It changes nothing, so a forged one could
only make Flower read its own task list for nobody to see.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .tensorboard import forward

# The one POST forwarded: the Tasks page's rows (flower/views/tasks.py TasksDataTable).
DATATABLE = "tasks/datatable"
READ = ("GET", "HEAD")


def same_origin(request: HttpRequest) -> bool:
    """Whether a browser sent this from one of this site's pages (a request without the
    headers is not a browser's cross-site one: browsers send Origin with every POST)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site and site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    return not origin or urlsplit(origin).netloc == request.get_host()


@csrf_exempt  # checked by same_origin() for the one POST allowed; every other is a 405
def proxy(request: HttpRequest, subpath: str = "") -> HttpResponse:
    methods = (*READ, "POST") if subpath == DATATABLE else READ
    if request.method == "POST" and subpath == DATATABLE and not same_origin(request):
        return HttpResponse("cross-site request refused\n", status=403, content_type="text/plain")
    return forward(
        request,
        settings.FLOWER_INTERNAL_URL,
        subpath,
        name="Flower",
        methods=methods,
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
