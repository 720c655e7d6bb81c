"""Dashboard pages for misclassified sentences and label overrides (the review queue)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from ..models import ErrorKind, LabelOverride, ReviewStatus, SentenceError
from ..services.reviews import review_errors
from . import queries
from .base import ReadOnlyAdmin, admin_link, errors_url, status_badge


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
        before, sentence, after = queries.sentence_context(obj)
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

    @admin.display(description="run", ordering="run")
    def run_link(self, obj):
        return admin_link(obj.run, f"run {obj.run_id}")

    @admin.action(
        description="Flip the gold label (the model was right) — the next run trains on it",
        permissions=["operate"],
    )
    def flip_labels(self, request, queryset):
        count = review_errors(queryset.select_related("document"), "flip", request.user)
        self.message_user(
            request,
            f"Flipped the gold label of {count} sentences; the next training run uses them.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Confirm the gold label (the model was wrong)", permissions=["operate"]
    )
    def confirm_labels(self, request, queryset):
        count = review_errors(queryset.select_related("document"), "confirm", request.user)
        self.message_user(
            request, f"Confirmed the gold label of {count} sentences.", messages.SUCCESS
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        runs = queries.open_corrections_by_run()
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

    @admin.display(description="from misclassified sentence")
    def source(self, obj):
        return (
            admin_link(obj.source_error, f"#{obj.source_error_id}") if obj.source_error_id else "-"
        )
