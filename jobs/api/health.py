"""GET /healthz: each component ok or missing; 503 while a required one is missing.

The components and what "required" means are in jobs.services.components
(HEALTHZ_REQUIRED): the body always names every component, so compose's web
healthcheck and `runstack` read the parts they need from a 503 as well.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from jobs.services.components import health_report


@require_GET
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
