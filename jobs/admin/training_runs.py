"""Dashboard pages for training runs: progress, metrics, charts, launch and cancel."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt

from ..models import JobStatus, ModelVersion, TrainingRun
from ..queries.runs import (
    METRICS_COLUMNS,
    metrics_table,
    run_history,
    tensorboard_url,
    with_error_counts,
)
from ..queries.schedule_status import retraining_kind
from ..services.errors import InvalidInput
from ..services.manifests import current_manifest, learned_from
from ..services.training import (
    RetrainingRequest,
    ScheduledRunNotStarted,
    cancel_training,
    launch_retraining,
    retrain_now,
    retraining_plan,
    training_defaults,
)
from ..services.versions import measured_against
from . import tensorboard
from .base import (
    ACTIVE,
    ReadOnlyAdmin,
    admin_link,
    errors_url,
    fmt,
    json_block,
    progress_bar,
    status_badge,
)
from .charts import loss_chart, rouge_chart
from .forms import LaunchRetrainingForm


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
        (
            "Data",
            {
                "fields": [
                    "train_split",
                    "val_split",
                    "learned_from_display",
                    "manifest_display",
                    "data_summary_display",
                    "data_sha256",
                ]
            },
        ),
        ("Settings", {"fields": ["params_display", "resolved_config_display", "metrics_display"]}),
        ("Files", {"fields": ["out_dir", "tensorboard_logdir"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for _, options in self.fieldsets for f in options["fields"]]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("version", "triggered_by")
        return with_error_counts(qs)

    def get_urls(self):
        view = self.admin_site.admin_view
        proxy = csrf_exempt(self.tensorboard_view)
        return [
            path("launch/", view(self.launch_view), name="jobs_trainingrun_launch"),
            path("<int:run_id>/cancel/", view(self.cancel_view), name="jobs_trainingrun_cancel"),
            path(
                "retrain-now/<int:task_id>/",
                view(self.retrain_now_view),
                name="jobs_trainingrun_retrain_now",
            ),
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
        rows = metrics_table(obj.metrics or {})
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

    @admin.display(description="learned from")
    def learned_from_display(self, obj):
        return learned_from(obj.manifest)

    @admin.display(description="manifest (document ids, labels)")
    def manifest_display(self, obj):
        return json_block(obj.manifest)

    @admin.display(description="config (resolved at the first start)")
    def resolved_config_display(self, obj):
        return json_block(obj.resolved_config)

    @admin.display(description="all metrics")
    def metrics_display(self, obj):
        return json_block(obj.metrics)

    # actions

    @admin.action(description="Cancel the selected runs", permissions=["operate"])
    def cancel_runs(self, request, queryset):
        count = sum(cancel_training(run) for run in queryset)
        self.message_user(request, f"Cancelled (or asked to stop) {count} runs.", messages.SUCCESS)

    @admin.action(description="Launch retraining like the selected run…", permissions=["operate"])
    def launch_like(self, request, queryset):
        run = self.one_selected(request, queryset, "Select exactly one run to start from.")
        if run is None:
            return None
        return HttpResponseRedirect(
            reverse("admin:jobs_trainingrun_launch") + f"?from_run={run.pk}"
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
        history = run_history(run)
        metrics = run.metrics or {}
        table = metrics_table(metrics)
        return {
            "run": run,
            "learned_from": learned_from(run.manifest),
            "measured_against": measured_against(run),
            # The gate's decision on the run's model (n, difference, interval in words).
            "gate_note": getattr(getattr(run, "version", None), "gate_note", ""),
            "progress": progress_bar(run),
            "metrics_rows": table,
            "metrics_columns": METRICS_COLUMNS,
            "has_metrics": any(v is not None for row in table for v in row.values.values()),
            "loss_chart": loss_chart(history),
            "rouge_chart": rouge_chart(history, table),
            "has_history": bool(history),
            "tensorboard_url": tensorboard_url(run),
            "projector_url": tensorboard_url(run, dashboard="projector"),
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
        if source.isascii() and source.isdigit():
            initial = LaunchRetrainingForm.initial_from_run(
                get_object_or_404(TrainingRun, pk=int(source))
            )
        form = LaunchRetrainingForm(
            request.POST or None, initial=initial, defaults=training_defaults()
        )
        if request.method == "POST" and form.is_valid():
            launch = RetrainingRequest(
                kind=form.cleaned_data["kind"],
                params=form.params(),
                train_split=form.cleaned_data["train_split"],
                val_split=form.cleaned_data["val_split"],
                from_active=form.cleaned_data["from_active"],
            )
            try:
                run = launch_retraining(launch, request.user)
            except InvalidInput as exc:
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
            "next_data": learned_from(current_manifest()).replace(
                "learned from", "from the training and validation splits now, a run learns from", 1
            ),
            "min_documents": settings.PROMOTION_MIN_DOCUMENTS,
            "tolerance": f"{settings.PROMOTION_TOLERANCE:.2f}",
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/jobs/trainingrun/launch.html", context)

    def cancel_view(self, request, run_id: int):
        self.require(request)
        run = get_object_or_404(TrainingRun, pk=run_id)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:jobs_trainingrun_change", args=[run.pk]))
        if cancel_training(run):
            run.refresh_from_db()
            done = "cancelled" if run.status == JobStatus.CANCELLED else "asked to stop"
            self.message_user(request, f"{run} {done}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{run} had already finished.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:jobs_trainingrun_change", args=[run.pk]))

    def retrain_now_view(self, request, task_id: int):
        """POST: run a retraining schedule now, as it runs when beat fires it."""
        from django_celery_beat.models import PeriodicTask

        self.require(request)
        task = get_object_or_404(PeriodicTask, pk=task_id)
        kind = retraining_kind(task)
        back = reverse("admin:index")
        if request.method != "POST" or kind is None:
            return HttpResponseRedirect(back)
        try:
            run = retrain_now(task.name, kind)
        except ScheduledRunNotStarted as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(back)
        if run is None:
            plan = retraining_plan(kind)
            self.message_user(request, f"{task.name}: {plan.reason}.", messages.WARNING)
            return HttpResponseRedirect(back)
        self.message_user(request, f"{task.name}: queued {run}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:jobs_trainingrun_change", args=[run.pk]))

    def tensorboard_view(self, request, path=""):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return tensorboard.proxy(request, path)
