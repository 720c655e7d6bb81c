"""Shared pieces of the staff dashboard: the read-only base admin and HTML helpers."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from ..models import JobStatus, TrainingRun

admin.site.site_header = "Summarizer staff dashboard"
admin.site.site_title = "Summarizer"
admin.site.index_title = "Documents, summaries, training and review"
admin.site.index_template = "jobs/admin_index.html"  # the overview above the app list
# The app list stays on the front page; beside each table it took the width of its last columns.
admin.site.enable_nav_sidebar = False
# "View site": the API's browsable docs (the project has no public site; "/" is a 404).
admin.site.site_url = "/api/docs/"

CSS = {"all": ["jobs/dashboard.css"]}
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff look; services write. No add, edit or delete forms."""

    class Media:
        css = CSS

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def may(self, request: HttpRequest, action: str = "change") -> bool:
        """Whether the user may run this model's actions (the model's change permission)."""
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")

    def require(self, request: HttpRequest) -> None:
        if not self.may(request):
            raise PermissionDenied

    def one_selected(self, request: HttpRequest, queryset, warning: str) -> Any:
        """The one row an action was run on; None (and `warning` shown) unless just one."""
        rows = list(queryset[:2])
        if len(rows) != 1:
            self.message_user(request, warning, messages.WARNING)
            return None
        return rows[0]

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Who may run the actions marked ``permissions=["operate"]``."""
        return self.may(request)

    @admin.display(description="document", ordering="document")
    def document_link(self, obj):
        """A column for the pages whose rows belong to a document."""
        return admin_link(obj.document)


def status_badge(status: str, label: str) -> str:
    return format_html('<span class="jobs-status jobs-status-{}">{}</span>', status, label)


def admin_link(obj, text: Any = None) -> str:
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


def json_block(value: Any) -> str:
    return format_html(
        '<pre class="jobs-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True)
    )


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def errors_url(run: TrainingRun, **filters: str) -> str:
    query = "&".join([f"run__id__exact={run.pk}", *(f"{k}={v}" for k, v in filters.items())])
    return reverse("admin:jobs_sentenceerror_changelist") + "?" + query


def progress_bar(run: TrainingRun) -> str:
    if not run.progress_total:
        return format_html(
            '<div class="jobs-progress" title="not started"><span>{}</span></div>',
            "waiting" if run.status == JobStatus.QUEUED else "–",
        )
    percent = 100 * run.progress
    return format_html(
        '<div class="jobs-progress jobs-progress-{}" role="progressbar" aria-valuenow="{}" '
        'aria-valuemin="0" aria-valuemax="100"><div style="width: {}%"></div>'
        "<span>{} / {} steps</span></div>",
        run.status,
        f"{percent:.0f}",
        f"{percent:.1f}",
        run.progress_step,
        run.progress_total,
    )
