"""Dashboard pages for misclassified sentences and label overrides (the review queue)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from ..models import (
    ErrorKind,
    LabelOverride,
    ReviewEvent,
    ReviewStatus,
    RunPrediction,
    RunRole,
    SentenceError,
)
from ..queries.documents import sentence_context, sentence_spans
from ..queries.runs import open_corrections_by_run
from ..services.errors import InvalidInput
from ..services.reviews import revert_override, review_errors
from ..text import anchor_labels
from . import review_queue
from .base import ReadOnlyAdmin, admin_link, errors_url, status_badge
from .review_queue import label_name, plural


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
        "split_display",
        "in_context",
        "probability_display",
        "gold_label",
        "review_display",
        "decide",
        "review_link",
        "run_link",
    ]
    list_filter = [
        ("run", admin.RelatedOnlyFieldListFilter),
        "kind",
        "split",
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
        "split_display",
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

    @admin.display(description="document was", ordering="split")
    def split_display(self, obj):
        """Training or validation document, and what a flip of its label does."""
        return format_html(
            '<span class="jobs-split jobs-split-{}">{}</span>'
            '<div class="jobs-muted jobs-why">{}</div>',
            obj.split,
            "training" if obj.split == RunRole.TRAIN else "validation",
            review_queue.flip_effect(obj).split(": ", 1)[1],
        )

    @admin.display(description="error", ordering="kind")
    def kind_display(self, obj):
        short = "FP" if obj.kind == ErrorKind.FALSE_POSITIVE else "FN"
        # Why it counts as an error: its rank and the run's threshold, not just "FP".
        prediction = RunPrediction.objects.filter(run_id=obj.run_id, document_id=obj.document_id)
        why = review_queue.describe(obj, review_queue.position(obj, prediction.first()))
        return format_html(
            '<span class="jobs-kind jobs-kind-{}" title="{}">{}</span>'
            '<div class="jobs-muted jobs-why">{}</div>',
            obj.kind,
            obj.get_kind_display(),
            short,
            why,
        )

    @admin.display(description="sentence in its context")
    def in_context(self, obj):
        before, sentence, after = sentence_context(obj)
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

    @admin.display(description="decide")
    def decide(self, obj):
        """Flip / Confirm for this row: they submit the page's one CSRF form (change_list.html)
        to the review action, which comes back to this list (?back=1)."""
        buttons = [
            format_html(
                '<button type="submit" form="jobs-review" formaction="{}?back=1" class="button" '
                'data-testid="{}-{}">{}</button>',
                reverse("admin:jobs_sentenceerror_review_action", args=[obj.run_id, obj.pk, a]),
                a,
                obj.pk,
                a.capitalize(),
            )
            for a in ("flip", "confirm")
        ]
        return format_html('<span class="jobs-nowrap">{} {}</span>', *buttons)

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.may(request) else [c for c in shown if c != "decide"]

    @admin.display(description="document (run's scores)", ordering="document")
    def review_link(self, obj):
        """The review page: the document with this run's predictions, this sentence current."""
        url = review_queue.review_url(obj.run_id, obj.pk)
        return format_html('<a href="{}">{}</a>', url, obj.document)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "review/<int:run_id>/",
                view(lambda request, run_id: review_queue.review_view(self, request, run_id)),
                name="jobs_sentenceerror_review",
            ),
            path(
                "review/<int:run_id>/undo/",
                view(lambda request, run_id: review_queue.undo_last_view(self, request, run_id)),
                name="jobs_sentenceerror_review_undo",
            ),
            path(
                "review/<int:run_id>/<int:error_id>/<str:action>/",
                view(
                    lambda request, run_id, error_id, action: review_queue.action_view(
                        self, request, run_id, error_id, action
                    )
                ),
                name="jobs_sentenceerror_review_action",
            ),
            *super().get_urls(),
        ]

    @admin.action(
        description="Flip the gold label (the model was right): in training documents the "
        "next run learns it, in validation documents it is judged by it",
        permissions=["operate"],
    )
    def flip_labels(self, request, queryset):
        splits = dict(
            queryset.order_by()  # no Meta ordering in the GROUP BY
            .values("split")
            .annotate(n=Count("pk"))
            .values_list("split", "n")
        )
        try:
            count = review_errors(queryset.select_related("document"), "flip", request.user)
        except InvalidInput as exc:  # all or nothing: none was flipped
            self.message_user(request, f"Nothing flipped: {exc.message}", messages.ERROR)
            return
        parts = []
        if splits.get(RunRole.TRAIN):
            parts.append(
                f"{splits[RunRole.TRAIN]} in training documents (the next run learns them)"
            )
        if splits.get(RunRole.VALIDATION):
            parts.append(
                f"{splits[RunRole.VALIDATION]} in validation documents (the next run is "
                "judged by them, it does not learn them)"
            )
        detail = f": {'; '.join(parts)}" if parts and count else ""
        self.message_user(
            request,
            f"Flipped the gold label of {plural(count, 'sentence')}{detail}.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Confirm the gold label (the model was wrong)", permissions=["operate"]
    )
    def confirm_labels(self, request, queryset):
        try:
            count = review_errors(queryset.select_related("document"), "confirm", request.user)
        except InvalidInput as exc:  # all or nothing: none was confirmed
            self.message_user(request, f"Nothing confirmed: {exc.message}", messages.ERROR)
            return
        self.message_user(
            request, f"Confirmed the gold label of {plural(count, 'sentence')}.", messages.SUCCESS
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        runs = open_corrections_by_run()
        extra_context["runs_with_errors"] = [
            (run, errors_url(run, reviewed="no"), errors_url(run), review_queue.review_url(run.pk))
            for run in runs[:10]
        ]
        return super().changelist_view(request, extra_context)


@admin.register(LabelOverride)
class LabelOverrideAdmin(ReadOnlyAdmin):
    """The corrections the next training run uses in place of the oracle labels."""

    list_display = [
        "sentence",
        "label",
        "document_link",
        "created_by",
        "source",
        "from_error",
        "updated_at",
        "revert_button",
    ]
    list_filter = ["label", "source", ("created_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["document", "created_by", "source_error"]
    search_fields = ["document__title", "sentence_text", "source_error__text"]

    @admin.display(description="sentence")
    def sentence(self, obj):
        """The labelled sentence (its text as stored) and, when the splitter changed
        since, where the label applies now (``jobs.text.anchor_labels``)."""
        text = obj.document.text
        texts = [text[a:b] for a, b in sentence_spans(text, obj.document.language)]
        [now] = anchor_labels(texts, [(obj.sentence_index, obj.sentence_text)])
        if now is None or now >= len(texts):
            shown = obj.sentence_text or f"sentence {obj.sentence_index}"
            return f"{shown} (no longer in the text: left out of training)"
        if now != obj.sentence_index:
            return f"{obj.sentence_text} (sentence {now} now)"
        return texts[now]

    @admin.display(description="from misclassified sentence")
    def from_error(self, obj):
        if not obj.source_error_id:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            review_queue.review_url(obj.source_error.run_id, obj.source_error_id),
            f"run {obj.source_error.run_id} #{obj.source_error_id}",
        )

    @admin.display(description="")
    def revert_button(self, obj):
        # Submits the page's one CSRF form (change_list.html) to this row's URL.
        return format_html(
            '<button type="submit" form="jobs-revert" formaction="{}" class="button" '
            'data-testid="revert-{}">Revert</button>',
            reverse("admin:jobs_labeloverride_revert", args=[obj.pk]),
            obj.pk,
        )

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.may(request) else [c for c in shown if c != "revert_button"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/revert/", view(self.revert_view), name="jobs_labeloverride_revert"),
            *super().get_urls(),
        ]

    def revert_view(self, request, pk: int):
        """POST: drop the override (history kept; undo it from the review page)."""
        self.require(request)
        back = reverse("admin:jobs_labeloverride_changelist")
        if request.method == "POST":
            override = get_object_or_404(LabelOverride, pk=pk)
            revert_override(override, request.user)
            self.message_user(
                request, f"Reverted the staff label of “{self.sentence(override)[:80]}”."
            )
        return HttpResponseRedirect(back)


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    """Every review decision: who, when, from which label to which."""

    list_display = ["at", "by", "action", "sentence", "status_change", "label_change", "undone_at"]
    list_filter = ["action", ("by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["by", "error", "document"]

    @admin.display(description="sentence")
    def sentence(self, obj):
        return (
            obj.error.text if obj.error_id else f"sentence {obj.sentence_index} of {obj.document}"
        )

    @admin.display(description="review")
    def status_change(self, obj):
        return f"{obj.status_before or '–'} → {obj.status_after or '–'}"

    @admin.display(description="staff label")
    def label_change(self, obj):
        return f"{label_name(obj.label_before)} → {label_name(obj.label_after)}"
