"""Dashboard pages for documents and their summaries."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from ..models import Document, JobStatus, RunPrediction, Split, Summary
from ..queries.documents import document_view
from ..services.errors import InvalidInput
from ..services.splits import may_manage_training_data, move_to_split
from ..services.summaries import cancel_summary, requeue_summary
from . import labelling
from .base import ReadOnlyAdmin, status_badge

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

    def may(self, request, action: str = "change") -> bool:
        """Moving and labelling documents: the API's rule (``may_manage_training_data``)."""
        if action == "change":
            return may_manage_training_data(request.user)
        return super().may(request, action)

    fields = ["title", "owner", "split", "source_id", "language", "sha256", "created_at"]
    readonly_fields = fields
    inlines = [SummaryInline]

    @admin.display(description="title", ordering="title")
    def title_or_id(self, obj):
        return obj.title or f"Document {obj.pk}"

    @admin.display(description="reference", boolean=True)
    def has_reference(self, obj):
        return bool(obj.reference_summary)

    actions = ["move_to_train", "move_to_validation", "move_to_test", "move_out_of_splits"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "label-next/",
                view(lambda request: labelling.label_next_view(self, request)),
                name="jobs_document_label_next",
            ),
            path(
                "<int:pk>/label/",
                view(lambda request, pk: labelling.label_view(self, request, pk)),
                name="jobs_document_label",
            ),
            path(
                "<int:pk>/label/<str:action>/",
                view(
                    lambda request, pk, action: labelling.label_action_view(
                        self, request, pk, action
                    )
                ),
                name="jobs_document_label_action",
            ),
            path("<int:pk>/split/", view(self.split_view), name="jobs_document_split"),
            *super().get_urls(),
        ]

    def _move(self, request, queryset, split: str) -> None:
        try:
            moved = move_to_split(queryset, split, request.user)
        except InvalidInput as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        where = f"split {split}" if split else "no split (only summarized)"
        self.message_user(request, f"Moved {moved} document(s) to {where}.", messages.SUCCESS)

    @admin.action(
        description="Move to train (the next run learns from them)", permissions=["operate"]
    )
    def move_to_train(self, request, queryset):
        self._move(request, queryset, Split.TRAIN)

    @admin.action(
        description="Move to validation (runs and the gate are judged on them)",
        permissions=["operate"],
    )
    def move_to_validation(self, request, queryset):
        self._move(request, queryset, Split.VALIDATION)

    @admin.action(description="Move to test (held out from training)", permissions=["operate"])
    def move_to_test(self, request, queryset):
        self._move(request, queryset, Split.TEST)

    @admin.action(description="Take out of every split (only summarized)", permissions=["operate"])
    def move_out_of_splits(self, request, queryset):
        self._move(request, queryset, Split.NONE)

    def split_view(self, request, pk: int):
        """POST from the document's page: move it to the split chosen there."""
        self.require(request)
        get_object_or_404(Document, pk=pk)
        if request.method == "POST":
            self._move(request, Document.objects.filter(pk=pk), request.POST.get("split", ""))
        return HttpResponseRedirect(reverse("admin:jobs_document_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        document = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if document is not None:
            extra_context["label_url"] = labelling.label_url(document.pk)
            extra_context["split_url"] = reverse("admin:jobs_document_split", args=[document.pk])
            extra_context["splits"] = Split.choices
            extra_context["may_operate"] = self.may(request)
            summary = prediction = None
            chosen, run = request.GET.get("summary", ""), request.GET.get("run", "")
            if chosen.isascii() and chosen.isdigit():
                summary = get_object_or_404(
                    Summary, pk=int(chosen), document=document, status=JobStatus.SUCCEEDED
                )
            elif run.isascii() and run.isdigit():  # ?run=<id>: that run's scores on it
                prediction = get_object_or_404(RunPrediction, run_id=int(run), document=document)
            extra_context["view"] = document_view(document, summary, prediction)
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
    actions = ["requeue", "cancel"]

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

    @admin.action(
        description="Run the selected failed or cancelled summaries again",
        permissions=["operate"],
    )
    def requeue(self, request, queryset):
        total = queryset.count()
        count = sum(requeue_summary(s) for s in queryset)
        level = messages.SUCCESS if count else messages.WARNING
        skipped = total - count
        note = f" ({skipped} not failed or cancelled, left as they were)" if skipped else ""
        self.message_user(request, f"Requeued {count} of {total} summaries{note}.", level)

    @admin.action(description="Cancel the selected queued summaries", permissions=["operate"])
    def cancel(self, request, queryset):
        total = queryset.count()
        count = sum(cancel_summary(s, request.user) for s in queryset)
        skipped = total - count
        note = f" ({skipped} already running or finished, left as they were)" if skipped else ""
        level = messages.SUCCESS if count else messages.WARNING
        self.message_user(request, f"Cancelled {count} of {total} summaries{note}.", level)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        summary = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if summary is not None and summary.status == JobStatus.SUCCEEDED:
            extra_context["view"] = document_view(summary.document, summary)
            extra_context["document"] = summary.document
        return super().change_view(request, object_id, form_url, extra_context)
