"""Dashboard page: two model versions side by side (metrics, training params, data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from ..models import ModelVersion
from ..queries.runs import METRICS_COLUMNS, as_number, metrics_table


@dataclass(frozen=True)
class CompareRow:
    name: str
    a: Any
    b: Any

    @property
    def differs(self) -> bool:
        return self.a != self.b

    @property
    def delta(self) -> float | None:
        """b minus a, for numbers."""
        a, b = as_number(self.a), as_number(self.b)
        return None if a is None or b is None else b - a


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys ({"model": {"lr": 1}} -> {"model.lr": 1})."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, inner in value.items():
        out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return out


def rows(a: dict[str, Any], b: dict[str, Any]) -> list[CompareRow]:
    fa, fb = flatten(a), flatten(b)
    return [CompareRow(key, fa.get(key), fb.get(key)) for key in sorted({*fa, *fb})]


def _run_info(version: ModelVersion) -> dict[str, Any]:
    run = version.run
    if run is None:
        return {}
    summary = run.data_summary or {}
    return {
        "run": run.pk,
        "trigger": run.trigger,
        "train_split": run.train_split,
        "val_split": run.val_split,
        "train_documents": summary.get("train_documents"),
        "validation_documents": summary.get("validation_documents"),
        "data_sha256": run.data_sha256[:12],
        "code_version": run.code_version,
        "device": run.device,
    }


def comparison(a: ModelVersion, b: ModelVersion) -> dict[str, list[CompareRow]]:
    """Metrics, training params (the run's own over the recipe) and the run's data."""
    return {
        "metrics": rows(a.metrics or {}, b.metrics or {}),
        "params": rows(a.run.params if a.run else {}, b.run.params if b.run else {}),
        "run": rows(_run_info(a), _run_info(b)),
    }


def compare_page(model_admin, request):
    """GET ?a=<id>&b=<id> (the "Compare" action of the version list sends here)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    ids = [request.GET.get(k, "") for k in ("a", "b")]
    if not all(i.isascii() and i.isdigit() for i in ids):
        return HttpResponseBadRequest("give two version ids: ?a=<id>&b=<id>")
    a, b = (get_object_or_404(ModelVersion.objects.select_related("run"), pk=int(i)) for i in ids)
    return TemplateResponse(
        request,
        "admin/jobs/modelversion/compare.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "media": model_admin.media,
            "title": f"Compare {a} and {b}",
            "a": a,
            "b": b,
            "sections": comparison(a, b),
            "metrics_columns": METRICS_COLUMNS,
            "a_rows": metrics_table(a.metrics or {}),
            "b_rows": metrics_table(b.metrics or {}),
        },
    )
