"""Dashboard pages for model versions: promote and roll back, each confirmed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..models import ModelVersion, TrainableKind
from ..queries.runs import METRICS_COLUMNS, as_number, metrics_table
from ..services.errors import InvalidInput
from ..services.manifests import learned_from
from ..services.versions import (
    describe,
    gate_decision,
    measured_against,
    promote,
    rollback,
    rollback_target,
)
from . import version_compare
from .base import ReadOnlyAdmin, admin_link, fmt, json_block
from .forms import ConfirmForm, DescribeForm

# --- model versions --------------------------------------------------------------------------


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "label_display",
        "kind",
        "is_active",
        "rouge1",
        "rouge2",
        "rouge_lsum",
        "vs_lead3",
        "run_link",
        "promoted_at",
        "tags_display",
        "gate_note",
    ]
    list_filter = ["kind", "is_active"]
    list_select_related = ["run", "promoted_by"]
    search_fields = ["description", "gate_note"]
    actions = ["promote_selected", "compare_selected"]
    fields = [
        "label_display",
        "kind",
        "is_active",
        "run_link",
        "description",
        "tags_display",
        "gate_note",
        "promoted_at",
        "promoted_by",
        "rolled_back_at",
        "checkpoint_dir",
        "checkpoint_sha256",
        "created_at",
        "metrics_display",
    ]
    readonly_fields = fields

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:version_id>/promote/",
                view(self.promote_view),
                name="jobs_modelversion_promote",
            ),
            path(
                "rollback/<str:kind>/", view(self.rollback_view), name="jobs_modelversion_rollback"
            ),
            path(
                "<int:version_id>/describe/",
                view(self.describe_view),
                name="jobs_modelversion_describe",
            ),
            path("compare/", view(self.compare_view), name="jobs_modelversion_compare"),
            *super().get_urls(),
        ]

    @admin.display(description="version", ordering="id")
    def label_display(self, obj):
        return obj.label

    def _metric(self, obj, key):
        return fmt(as_number((obj.metrics or {}).get(key)))

    @admin.display(description="ROUGE-1")
    def rouge1(self, obj):
        return self._metric(obj, "val_rouge1")

    @admin.display(description="ROUGE-2")
    def rouge2(self, obj):
        return self._metric(obj, "val_rouge2")

    @admin.display(description="ROUGE-Lsum")
    def rouge_lsum(self, obj):
        return self._metric(obj, "val_rougeLsum")

    @admin.display(description="vs Lead-3 (95% interval, n)")
    def vs_lead3(self, obj):
        """The paired comparison with Lead-3 the run measured; colored only when its
        interval excludes 0."""
        found = [m for m in measured_against(obj.run) if m.against == "Lead-3"]
        if not found:
            delta = metrics_table(obj.metrics or {})[-1].delta_vs["lead3"]
            if delta is None:
                return "–"
            return format_html(
                '<span class="jobs-muted">{}{} (mean only, no interval)</span>',
                "+" if delta >= 0 else "",
                fmt(delta),
            )
        css = {"better": "jobs-better", "worse": "jobs-worse"}.get(found[0].verdict, "")
        return format_html('<span class="{}">{}</span>', css, found[0].text)

    @admin.display(description="tags")
    def tags_display(self, obj):
        return ", ".join(obj.tags or []) or "–"

    @admin.display(description="training run")
    def run_link(self, obj):
        return admin_link(obj.run, f"run {obj.run_id}") if obj.run_id else "-"

    @admin.display(description="metrics")
    def metrics_display(self, obj):
        return json_block(obj.metrics)

    @admin.action(description="Promote the selected version…", permissions=["operate"])
    def promote_selected(self, request, queryset):
        version = self.one_selected(request, queryset, "Select exactly one version to promote.")
        if version is None:
            return None
        return HttpResponseRedirect(reverse("admin:jobs_modelversion_promote", args=[version.pk]))

    @admin.action(description="Compare the two selected versions")
    def compare_selected(self, request, queryset):
        pair = list(queryset.order_by("pk")[:3])
        if len(pair) != 2:
            self.message_user(request, "Select exactly two versions to compare.", messages.WARNING)
            return None
        url = reverse("admin:jobs_modelversion_compare")
        return HttpResponseRedirect(f"{url}?a={pair[0].pk}&b={pair[1].pk}")

    def compare_view(self, request):
        return version_compare.compare_page(self, request)

    def describe_view(self, request, version_id: int):
        """POST only (the form is on the version page): description and tags."""
        self.require(request)
        version = get_object_or_404(ModelVersion, pk=version_id)
        change_url = reverse("admin:jobs_modelversion_change", args=[version.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        form = DescribeForm(request.POST)
        if not form.is_valid():
            self.message_user(request, form.errors.as_text(), messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            describe(version, form.cleaned_data["description"], form.cleaned_data["tags"])
        except InvalidInput as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, f"Saved the description of {version}.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if version is not None:
            extra_context.update(
                {
                    "version": version,
                    "measured_against": measured_against(version.run),
                    "learned_from": learned_from(version.run.manifest) if version.run else "",
                    "metrics_rows": metrics_table(version.metrics or {}),
                    "metrics_columns": METRICS_COLUMNS,
                    "may_operate": self.may(request),
                    "transitions": version.transitions.select_related("by"),
                    "describe_form": DescribeForm(
                        initial={"description": version.description, "tags": version.tags}
                    ),
                    "describe_url": reverse("admin:jobs_modelversion_describe", args=[version.pk]),
                    "promote_url": reverse("admin:jobs_modelversion_promote", args=[version.pk]),
                    "rollback_url": reverse(
                        "admin:jobs_modelversion_rollback", args=[version.kind]
                    ),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _confirm_page(self, request, new, current, **context):
        """The confirmation page: `new` (the version to activate) beside `current`."""
        context["new_rows"] = metrics_table(new.metrics or {}) if new else None
        context["current_rows"] = metrics_table(current.metrics or {}) if current else None
        return TemplateResponse(
            request,
            "admin/jobs/modelversion/confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "media": self.media,
                "columns": METRICS_COLUMNS,
                "new": new,
                "current": current,
                **context,
            },
        )

    def promote_view(self, request, version_id: int):
        self.require(request)
        version = get_object_or_404(ModelVersion, pk=version_id)
        current = ModelVersion.objects.filter(kind=version.kind, is_active=True).first()
        change_url = reverse("admin:jobs_modelversion_change", args=[version.pk])
        if request.method == "POST" and ConfirmForm(request.POST).is_valid():
            try:
                promote(version, request.user)
            except InvalidInput as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request, f"{version} is now the active {version.kind} model.", messages.SUCCESS
                )
            return HttpResponseRedirect(change_url)
        decision = gate_decision(version) if not version.is_active else None
        return self._confirm_page(
            request,
            version,
            current,
            gate_warning=(
                decision.reason.removeprefix("not promoted: ")
                if decision and not decision.promote
                else ""
            ),
            title=f"Promote {version}?",
            action="promote",
            cancel_url=change_url,
        )

    def rollback_view(self, request, kind: str):
        self.require(request)
        if kind not in TrainableKind.values:
            raise Http404(f"unknown model kind {kind!r}")
        current = ModelVersion.objects.filter(kind=kind, is_active=True).first()
        target = rollback_target(kind)
        back_url = (
            reverse("admin:jobs_modelversion_change", args=[current.pk])
            if current
            else reverse("admin:jobs_modelversion_changelist")
        )
        if request.method == "POST" and ConfirmForm(request.POST).is_valid():
            try:
                version = rollback(kind, request.user)
            except InvalidInput as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return HttpResponseRedirect(back_url)
            self.message_user(
                request,
                f"Rolled back: {version} is the active {kind} model again.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:jobs_modelversion_change", args=[version.pk])
            )
        return self._confirm_page(
            request,
            target,
            current,
            title=f"Roll back {kind}?",
            action="rollback",
            cancel_url=back_url,
        )
