"""The staff dashboard: Django admin for documents, summaries, training runs, model
versions and misclassified sentences.

Every page is read-only; what changes state (requeue, launch, cancel, review,
promote, roll back) is an action or a button that calls ``jobs.services``.
Pages need a staff login (the admin's own check); actions also need the
model's "change" permission, which superusers have.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt

from . import charts, services, tensorboard_proxy
from .admin_forms import ConfirmForm, LaunchRetrainingForm
from .links import tensorboard_url
from .models import (
    Document,
    ErrorKind,
    JobStatus,
    LabelOverride,
    ModelVersion,
    ReviewStatus,
    SentenceError,
    Summary,
    TrainableKind,
    TrainingRun,
)
from .services import dashboard

admin.site.site_header = "Summarizer staff dashboard"
admin.site.site_title = "Summarizer"
admin.site.index_title = "Documents, summaries, training and review"
admin.site.index_template = "jobs/admin_index.html"  # the overview above the app list

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


# --- documents ---------------------------------------------------------------------------


class HasReferenceFilter(admin.SimpleListFilter):
    title = "reference summary"
    parameter_name = "has_reference"

    def lookups(self, request, model_admin):
        return [("yes", "Has a reference"), ("no", "No reference")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(reference_summary="")
        if self.value() == "no":
            return queryset.filter(reference_summary="")
        return queryset


class SummaryInline(admin.TabularInline):
    model = Summary
    fields = ["show", "status", "model", "model_version", "summary_text", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="highlight")
    def show(self, obj):
        if obj.status != JobStatus.SUCCEEDED:
            return "-"
        url = reverse("admin:jobs_document_change", args=[obj.document_id])
        return format_html('<a href="{}?summary={}">show on the text</a>', url, obj.pk)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "title_or_id",
        "owner",
        "split",
        "has_reference",
        "language",
        "created_at",
    ]
    list_display_links = ["id", "title_or_id"]
    list_filter = [
        "split",
        HasReferenceFilter,
        ("owner", admin.RelatedOnlyFieldListFilter),
        "language",
    ]
    search_fields = ["title", "text", "source_id", "=sha256"]
    list_select_related = ["owner"]
    fields = ["title", "owner", "split", "source_id", "language", "sha256", "created_at"]
    readonly_fields = fields
    inlines = [SummaryInline]

    @admin.display(description="title", ordering="title")
    def title_or_id(self, obj):
        return obj.title or f"Document {obj.pk}"

    @admin.display(description="reference", boolean=True)
    def has_reference(self, obj):
        return bool(obj.reference_summary)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        document = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if document is not None:
            summary = None
            chosen = request.GET.get("summary", "")
            if chosen.isdigit():
                summary = get_object_or_404(
                    Summary, pk=int(chosen), document=document, status=JobStatus.SUCCEEDED
                )
            extra_context["view"] = dashboard.document_view(document, summary)
            extra_context["document"] = document
        return super().change_view(request, object_id, form_url, extra_context)


# --- summaries ---------------------------------------------------------------------------


@admin.register(Summary)
class SummaryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "document_link",
        "status_display",
        "model",
        "model_version",
        "attempts",
        "created_at",
        "error_excerpt",
    ]
    list_filter = ["status", "model", "model_version"]
    search_fields = ["document__title", "summary_text", "error", "=id"]
    list_select_related = ["document"]
    actions = ["requeue"]
    readonly_fields = [
        "document_link",
        "status_display",
        "error_display",
        "requested_model",
        "model",
        "model_version",
        "version",
        "max_sentences",
        "attempts",
        "notes",
        "summary_text",
        "requested_by",
        "created_at",
        "enqueued_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
    ]
    fields = readonly_fields

    @admin.display(description="document", ordering="document")
    def document_link(self, obj):
        return admin_link(obj.document)

    @admin.display(description="status", ordering="status")
    def status_display(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="error")
    def error_excerpt(self, obj):
        if not obj.error:
            return ""
        text = obj.error if len(obj.error) <= 120 else obj.error[:117] + "…"
        return format_html('<span class="jobs-error">{}</span>', text)

    @admin.display(description="error")
    def error_display(self, obj):
        if not obj.error:
            return "-"
        return format_html('<pre class="jobs-error">{}</pre>', obj.error)

    def has_requeue_permission(self, request):
        return self.may(request)

    @admin.action(
        description="Run the selected failed or cancelled summaries again",
        permissions=["requeue"],
    )
    def requeue(self, request, queryset):
        total = queryset.count()
        count = sum(services.requeue_summary(s) for s in queryset)
        level = messages.SUCCESS if count else messages.WARNING
        skipped = total - count
        note = f" ({skipped} not failed or cancelled, left as they were)" if skipped else ""
        self.message_user(request, f"Requeued {count} of {total} summaries{note}.", level)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        summary = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if summary is not None and summary.status == JobStatus.SUCCEEDED:
            extra_context["view"] = dashboard.document_view(summary.document, summary)
            extra_context["document"] = summary.document
        return super().change_view(request, object_id, form_url, extra_context)


# --- training runs -------------------------------------------------------------------------


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


class ProbabilityRangeFilter(admin.SimpleListFilter):
    title = "model probability"
    parameter_name = "probability"
    RANGES = {
        "0-0.1": (0.0, 0.1),
        "0.1-0.3": (0.1, 0.3),
        "0.3-0.5": (0.3, 0.5),
        "0.5-0.7": (0.5, 0.7),
        "0.7-0.9": (0.7, 0.9),
        "0.9-1": (0.9, 1.0001),
    }

    def lookups(self, request, model_admin):
        return [(key, key.replace("-", " – ")) for key in self.RANGES] + [
            ("none", "not scored (cut off)")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(probability__isnull=True)
        if value in self.RANGES:
            low, high = self.RANGES[value]
            return queryset.filter(probability__gte=low, probability__lt=high)
        return queryset


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [
            ("no", "Open"),
            ("yes", "Reviewed"),
            (ReviewStatus.FLIPPED, "Gold label flipped"),
            (ReviewStatus.CONFIRMED, "Gold label confirmed"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "no":
            return queryset.filter(review_status=ReviewStatus.OPEN)
        if value == "yes":
            return queryset.exclude(review_status=ReviewStatus.OPEN)
        if value in (ReviewStatus.FLIPPED, ReviewStatus.CONFIRMED):
            return queryset.filter(review_status=value)
        return queryset


def errors_url(run: TrainingRun, **filters: str) -> str:
    query = "&".join([f"run__id__exact={run.pk}", *(f"{k}={v}" for k, v in filters.items())])
    return reverse("admin:jobs_sentenceerror_changelist") + "?" + query


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "status_display",
        "progress_display",
        "rouge_vs_baselines",
        "open_errors_display",
        "trigger",
        "created_at",
        "tensorboard",
    ]
    list_filter = ["status", "kind", "trigger"]
    search_fields = ["=id", "error"]
    actions = ["cancel_runs", "launch_like"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "kind",
                    "status_display",
                    "progress_display",
                    "last_loss",
                    "error_display",
                    "version_link",
                    "parent_version",
                    "trigger",
                    "triggered_by",
                    "attempts",
                    "resumed_from_step",
                    "device",
                    "code_version",
                    "created_at",
                    "started_at",
                    "finished_at",
                    "heartbeat_at",
                ]
            },
        ),
        ("Data", {"fields": ["train_split", "val_split", "data_summary_display", "data_sha256"]}),
        ("Settings", {"fields": ["params_display", "metrics_display"]}),
        ("Files", {"fields": ["out_dir", "tensorboard_logdir"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for _, options in self.fieldsets for f in options["fields"]]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("version", "triggered_by")
        return dashboard.with_error_counts(qs)

    def get_urls(self):
        view = self.admin_site.admin_view
        proxy = csrf_exempt(self.tensorboard_view)
        return [
            path("launch/", view(self.launch_view), name="jobs_trainingrun_launch"),
            path("<int:run_id>/cancel/", view(self.cancel_view), name="jobs_trainingrun_cancel"),
            path("tensorboard/", view(proxy), name="jobs_trainingrun_tensorboard"),
            path("tensorboard/<path:path>", view(proxy), name="jobs_trainingrun_tensorboard"),
            *super().get_urls(),
        ]

    # columns

    @admin.display(description="status", ordering="status")
    def status_display(self, obj):
        if obj.cancel_requested and obj.status == JobStatus.RUNNING:
            return status_badge("cancelling", "Cancelling")
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="progress")
    def progress_display(self, obj):
        return progress_bar(obj)

    @admin.display(description="val ROUGE (mean) vs Lead-3 / TextRank")
    def rouge_vs_baselines(self, obj):
        rows = dashboard.metrics_table(obj.metrics or {})
        mean = rows[-1].values
        if mean["val"] is None:
            return "–"
        return format_html(
            '<span class="jobs-metric">{}</span> <span class="jobs-muted">vs {} / {}</span>',
            fmt(mean["val"]),
            fmt(mean["lead3"]),
            fmt(mean["textrank"]),
        )

    @admin.display(description="open corrections", ordering="open_errors")
    def open_errors_display(self, obj):
        if not getattr(obj, "all_errors", 0):
            return "–"
        return format_html(
            '<a href="{}">{} open</a> <span class="jobs-muted">of {}</span>',
            errors_url(obj, reviewed="no"),
            obj.open_errors,
            obj.all_errors,
        )

    @admin.display(description="TensorBoard")
    def tensorboard(self, obj):
        return format_html(
            '<a href="{}" class="jobs-tensorboard" target="_blank" rel="noopener">open</a>',
            tensorboard_url(obj),
        )

    @admin.display(description="error")
    def error_display(self, obj):
        return format_html('<pre class="jobs-error">{}</pre>', obj.error) if obj.error else "-"

    @admin.display(description="model version")
    def version_link(self, obj):
        version = getattr(obj, "version", None)
        return admin_link(version) if version else "-"

    @admin.display(description="data")
    def data_summary_display(self, obj):
        return json_block(obj.data_summary)

    @admin.display(description="params")
    def params_display(self, obj):
        return json_block(obj.params)

    @admin.display(description="all metrics")
    def metrics_display(self, obj):
        return json_block(obj.metrics)

    # actions

    def has_operate_permission(self, request):
        return self.may(request)

    @admin.action(description="Cancel the selected runs", permissions=["operate"])
    def cancel_runs(self, request, queryset):
        count = sum(services.cancel_training(run) for run in queryset)
        self.message_user(request, f"Cancelled (or asked to stop) {count} runs.", messages.SUCCESS)

    @admin.action(description="Launch retraining like the selected run…", permissions=["operate"])
    def launch_like(self, request, queryset):
        runs = list(queryset[:2])
        if len(runs) != 1:
            self.message_user(request, "Select exactly one run to start from.", messages.WARNING)
            return None
        return HttpResponseRedirect(
            reverse("admin:jobs_trainingrun_launch") + f"?from_run={runs[0].pk}"
        )

    # views

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["launch_url"] = reverse("admin:jobs_trainingrun_launch")
        extra_context["tensorboard_url"] = reverse("admin:jobs_trainingrun_tensorboard")
        extra_context["may_operate"] = self.may(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if run is not None:
            extra_context.update(self.run_context(request, run))
        return super().change_view(request, object_id, form_url, extra_context)

    def run_context(self, request, run: TrainingRun) -> dict[str, Any]:
        history = dashboard.run_history(run)
        metrics = run.metrics or {}
        table = dashboard.metrics_table(metrics)
        return {
            "run": run,
            "progress": progress_bar(run),
            "metrics_rows": table,
            "metrics_columns": dashboard.METRICS_COLUMNS,
            "has_metrics": any(v is not None for row in table for v in row.values.values()),
            "loss_chart": loss_chart(history),
            "rouge_chart": rouge_chart(history, table),
            "has_history": bool(history),
            "tensorboard_url": tensorboard_url(run),
            "cancel_url": reverse("admin:jobs_trainingrun_cancel", args=[run.pk]),
            "can_cancel": run.status in ACTIVE and not run.cancel_requested and self.may(request),
            "launch_like_url": reverse("admin:jobs_trainingrun_launch") + f"?from_run={run.pk}",
            "may_operate": self.may(request),
            "errors_url": errors_url(run),
            "open_errors_url": errors_url(run, reviewed="no"),
            "refresh_seconds": 5 if run.status in ACTIVE else None,
        }

    def launch_view(self, request):
        self.require(request)
        initial: dict[str, Any] = {}
        source = request.GET.get("from_run", "")
        if source.isdigit():
            initial = LaunchRetrainingForm.initial_from_run(
                get_object_or_404(TrainingRun, pk=int(source))
            )
        form = LaunchRetrainingForm(
            request.POST or None, initial=initial, defaults=dashboard.training_defaults()
        )
        if request.method == "POST" and form.is_valid():
            launch = dashboard.RetrainingRequest(
                kind=form.cleaned_data["kind"],
                params=form.params(),
                train_split=form.cleaned_data["train_split"],
                val_split=form.cleaned_data["val_split"],
                from_active=form.cleaned_data["from_active"],
            )
            try:
                run = dashboard.launch_retraining(launch, request.user)
            except services.InvalidInput as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                self.message_user(
                    request,
                    f"Queued {run}; the training worker will pick it up.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:jobs_trainingrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Launch retraining",
            "form": form,
            "active_versions": ModelVersion.objects.filter(is_active=True),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/jobs/trainingrun/launch.html", context)

    def cancel_view(self, request, run_id: int):
        self.require(request)
        run = get_object_or_404(TrainingRun, pk=run_id)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:jobs_trainingrun_change", args=[run.pk]))
        if services.cancel_training(run):
            run.refresh_from_db()
            done = "cancelled" if run.status == JobStatus.CANCELLED else "asked to stop"
            self.message_user(request, f"{run} {done}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{run} had already finished.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:jobs_trainingrun_change", args=[run.pk]))

    def tensorboard_view(self, request, path=""):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return tensorboard_proxy.proxy(request, path)


def loss_chart(history: dict[str, list[tuple[int, float]]]):
    return charts.line_chart(
        "Loss",
        [
            charts.Series("training loss", history.get("train/loss", []), "#2f6fb0"),
            charts.Series(
                "validation loss", history.get("validation/loss", []), "#d9822b", markers=True
            ),
        ],
        y_label="BCE loss",
    )


def rouge_chart(history: dict[str, list[tuple[int, float]]], table) -> Any:
    steps = [
        s for tag in ("validation/rouge", "validation/rouge1") for s, _ in history.get(tag, [])
    ]
    series = [
        charts.Series("ROUGE mean", history.get("validation/rouge", []), "#1f7a3a", markers=True),
        charts.Series("ROUGE-1", history.get("validation/rouge1", []), "#7fb58f"),
        charts.Series("ROUGE-2", history.get("validation/rouge2", []), "#b5d3bd"),
    ]
    if steps:
        mean = table[-1].values
        for column, name, color in (
            ("lead3", "Lead-3 mean", "#8a5a9c"),
            ("textrank", "TextRank mean", "#b08b2f"),
            ("active_val", "active version mean", "#666666"),
        ):
            if mean[column] is not None:
                span = [(min(steps), mean[column]), (max(steps), mean[column])]
                series.append(charts.Series(name, span, color, dashed=True))
    return charts.line_chart("Validation ROUGE (F1 × 100)", series, y_label="ROUGE")


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
        "gate_note",
    ]
    list_filter = ["kind", "is_active"]
    list_select_related = ["run", "promoted_by"]
    actions = ["promote_selected"]
    fields = [
        "label_display",
        "kind",
        "is_active",
        "run_link",
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
            *super().get_urls(),
        ]

    @admin.display(description="version", ordering="id")
    def label_display(self, obj):
        return obj.label

    def _metric(self, obj, key):
        return fmt(dashboard.as_number((obj.metrics or {}).get(key)))

    @admin.display(description="ROUGE-1")
    def rouge1(self, obj):
        return self._metric(obj, "val_rouge1")

    @admin.display(description="ROUGE-2")
    def rouge2(self, obj):
        return self._metric(obj, "val_rouge2")

    @admin.display(description="ROUGE-Lsum")
    def rouge_lsum(self, obj):
        return self._metric(obj, "val_rougeLsum")

    @admin.display(description="mean vs Lead-3")
    def vs_lead3(self, obj):
        delta = dashboard.metrics_table(obj.metrics or {})[-1].delta_vs["lead3"]
        if delta is None:
            return "–"
        css = "jobs-better" if delta >= 0 else "jobs-worse"
        return format_html(
            '<span class="{}">{}{}</span>', css, "+" if delta >= 0 else "", fmt(delta)
        )

    @admin.display(description="training run")
    def run_link(self, obj):
        return admin_link(obj.run, f"run {obj.run_id}") if obj.run_id else "-"

    @admin.display(description="metrics")
    def metrics_display(self, obj):
        return json_block(obj.metrics)

    def has_operate_permission(self, request):
        return self.may(request)

    @admin.action(description="Promote the selected version…", permissions=["operate"])
    def promote_selected(self, request, queryset):
        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.WARNING)
            return None
        return HttpResponseRedirect(
            reverse("admin:jobs_modelversion_promote", args=[versions[0].pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if version is not None:
            extra_context.update(
                {
                    "version": version,
                    "metrics_rows": dashboard.metrics_table(version.metrics or {}),
                    "metrics_columns": dashboard.METRICS_COLUMNS,
                    "may_operate": self.may(request),
                    "promote_url": reverse("admin:jobs_modelversion_promote", args=[version.pk]),
                    "rollback_url": reverse(
                        "admin:jobs_modelversion_rollback", args=[version.kind]
                    ),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _confirm_page(self, request, **context):
        return TemplateResponse(
            request,
            "admin/jobs/modelversion/confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "media": self.media,
                "columns": dashboard.METRICS_COLUMNS,
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
                services.promote(version, request.user)
            except services.InvalidInput as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request, f"{version} is now the active {version.kind} model.", messages.SUCCESS
                )
            return HttpResponseRedirect(change_url)
        return self._confirm_page(
            request,
            title=f"Promote {version}?",
            action="promote",
            new=version,
            current=current,
            new_rows=dashboard.metrics_table(version.metrics or {}),
            current_rows=dashboard.metrics_table(current.metrics or {}) if current else None,
            cancel_url=change_url,
        )

    def rollback_view(self, request, kind: str):
        self.require(request)
        if kind not in TrainableKind.values:
            raise Http404(f"unknown model kind {kind!r}")
        current = ModelVersion.objects.filter(kind=kind, is_active=True).first()
        target = services.rollback_target(kind)
        back_url = (
            reverse("admin:jobs_modelversion_change", args=[current.pk])
            if current
            else reverse("admin:jobs_modelversion_changelist")
        )
        if request.method == "POST" and ConfirmForm(request.POST).is_valid():
            try:
                version = services.rollback(kind, request.user)
            except services.InvalidInput as exc:
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
            title=f"Roll back {kind}?",
            action="rollback",
            new=target,
            current=current,
            new_rows=dashboard.metrics_table(target.metrics or {}) if target else None,
            current_rows=dashboard.metrics_table(current.metrics or {}) if current else None,
            cancel_url=back_url,
        )


# --- misclassified sentences ------------------------------------------------------------------


@admin.register(SentenceError)
class SentenceErrorAdmin(ReadOnlyAdmin):
    list_display = [
        "kind_display",
        "in_context",
        "probability_display",
        "gold_label",
        "review_display",
        "document_link",
        "run_link",
    ]
    list_filter = [
        ("run", admin.RelatedOnlyFieldListFilter),
        "kind",
        ProbabilityRangeFilter,
        ReviewedFilter,
        ("document", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["text", "document__title"]
    list_select_related = ["document", "run", "reviewed_by"]
    list_per_page = 50
    actions = ["flip_labels", "confirm_labels"]
    fields = [
        "kind_display",
        "in_context",
        "probability_display",
        "gold_label",
        "review_display",
        "reviewed_by",
        "reviewed_at",
        "document_link",
        "sentence_index",
        "run_link",
    ]
    readonly_fields = fields

    @admin.display(description="error", ordering="kind")
    def kind_display(self, obj):
        short = "FP" if obj.kind == ErrorKind.FALSE_POSITIVE else "FN"
        return format_html(
            '<span class="jobs-kind jobs-kind-{}" title="{}">{}</span>',
            obj.kind,
            obj.get_kind_display(),
            short,
        )

    @admin.display(description="sentence in its context")
    def in_context(self, obj):
        before, sentence, after = dashboard.sentence_context(obj)
        return format_html(
            '<div class="jobs-context"><span class="jobs-muted">{}</span> '
            '<mark class="jobs-context-{}">{}</mark> <span class="jobs-muted">{}</span></div>',
            before,
            obj.kind,
            sentence,
            after,
        )

    @admin.display(description="probability", ordering="probability")
    def probability_display(self, obj):
        if obj.probability is None:
            return format_html('<span class="jobs-muted">{}</span>', "not scored")
        return format_html(
            '<div class="jobs-prob" title="model probability {}"><div style="width: {}%"></div>'
            "<span>{}</span></div>",
            f"{obj.probability:.3f}",
            f"{100 * obj.probability:.1f}",
            f"{obj.probability:.2f}",
        )

    @admin.display(description="gold label", ordering="label")
    def gold_label(self, obj):
        return "in summary" if obj.label == 1 else "not in summary"

    @admin.display(description="review", ordering="review_status")
    def review_display(self, obj):
        return status_badge(f"review-{obj.review_status}", obj.get_review_status_display())

    @admin.display(description="document", ordering="document")
    def document_link(self, obj):
        return admin_link(obj.document)

    @admin.display(description="run", ordering="run")
    def run_link(self, obj):
        return admin_link(obj.run, f"run {obj.run_id}")

    def has_review_permission(self, request):
        return self.may(request)

    @admin.action(
        description="Flip the gold label (the model was right) — the next run trains on it",
        permissions=["review"],
    )
    def flip_labels(self, request, queryset):
        count = dashboard.review_errors(queryset.select_related("document"), "flip", request.user)
        self.message_user(
            request,
            f"Flipped the gold label of {count} sentences; the next training run uses them.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Confirm the gold label (the model was wrong)", permissions=["review"]
    )
    def confirm_labels(self, request, queryset):
        count = dashboard.review_errors(
            queryset.select_related("document"), "confirm", request.user
        )
        self.message_user(
            request, f"Confirmed the gold label of {count} sentences.", messages.SUCCESS
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        runs = dashboard.open_corrections_by_run()
        extra_context["runs_with_errors"] = [
            (run, errors_url(run, reviewed="no"), errors_url(run)) for run in runs[:10]
        ]
        return super().changelist_view(request, extra_context)


@admin.register(LabelOverride)
class LabelOverrideAdmin(ReadOnlyAdmin):
    """The corrections the next training run uses in place of the oracle labels."""

    list_display = [
        "document_link",
        "sentence_index",
        "label",
        "created_by",
        "source",
        "updated_at",
    ]
    list_filter = ["label", ("created_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["document", "created_by", "source_error"]
    search_fields = ["document__title"]

    @admin.display(description="document", ordering="document")
    def document_link(self, obj):
        return admin_link(obj.document)

    @admin.display(description="from misclassified sentence")
    def source(self, obj):
        return (
            admin_link(obj.source_error, f"#{obj.source_error_id}") if obj.source_error_id else "-"
        )
