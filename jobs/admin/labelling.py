"""Staff labelling: a document's sentences labelled in / not in the summary by keyboard,
and the "label next" queue of user-uploaded documents the serving model is least sure of.

Like the review queue, every key submits a POST form (CSRF) or follows a link, and each
write goes through ``jobs.services.reviews`` (history, undo, copies of the text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from ..models import (
    Document,
    JobStatus,
    LabelOverride,
    LabelSource,
    ReviewEvent,
    Summary,
    TrainableKind,
)
from ..services import reviews
from ..services.errors import InvalidInput
from ..services.splits import split_when_labelled
from ..text import split_sentences
from .review_queue import plural

LABEL_ACTIONS = {"in": 1, "out": 0}  # the keys i / o
QUEUE_LIMIT = 2000  # newest unlabelled documents ranked by the label-next queue


# --- read models ---------------------------------------------------------------------


@dataclass(frozen=True)
class LabelRow:
    """One sentence of the labelling page: its label, where that comes from, who set it."""

    index: int
    text: str
    score: float | None  # the latest summary's score, a hint
    selected: bool  # in the latest summary
    label: int | None  # the label a training run uses (None: none, the document is unlabelled)
    source: str  # LabelSource value, or "" without a label
    by: Any = None
    at: Any = None

    @property
    def source_display(self) -> str:
        return dict(LabelSource.choices).get(self.source, "")


def label_rows(document: Document) -> list[LabelRow]:
    spans = split_sentences(document.text, language=document.language or None)
    texts = [s.text for s in spans]
    staff = reviews.labels_of(document, texts)  # each on the sentence with its text
    oracle: set[int] = set()
    if document.reference_summary.strip():
        from ml.text.rouge import greedy_oracle

        oracle = set(greedy_oracle(texts, document.reference_summary))
    summary = latest_scored_summary(document)
    scores = {s["index"]: s for s in (summary.sentences if summary else [])}
    rows = []
    for i, text in enumerate(texts):
        hint = scores.get(i, {})
        o = staff.get(i)
        if o is not None:
            label, source, by, at = o.label, o.source, o.created_by, o.updated_at
        elif document.reference_summary.strip():
            label, source, by, at = int(i in oracle), LabelSource.ORACLE, None, None
        else:
            label, source, by, at = None, "", None, None
        rows.append(
            LabelRow(i, text, hint.get("score"), bool(hint.get("selected")), label, source, by, at)
        )
    return rows


def latest_scored_summary(document: Document) -> Summary | None:
    """The newest succeeded summary by a trained model (its scores say how sure it was)."""
    return (
        document.summaries.filter(status=JobStatus.SUCCEEDED, model__in=TrainableKind.values)
        .order_by("-finished_at", "-id")
        .first()
    )


def margin(sentences: list[dict[str, Any]]) -> float | None:
    """The serving model's uncertainty about a summary: the score of the last (lowest)
    selected sentence minus that of the first (highest) unselected one. Small: it nearly
    chose otherwise. None when there is no such pair of scores."""
    chosen = [s["score"] for s in sentences if s.get("selected") and s.get("score") is not None]
    left = [s["score"] for s in sentences if not s.get("selected") and s.get("score") is not None]
    if not chosen or not left:
        return None
    return min(chosen) - max(left)


@dataclass(frozen=True)
class QueueRow:
    document: Document
    margin: float | None
    summary_id: int | None


def unlabelled_uploads():
    """Documents without a reference summary whose text nobody labelled yet (whatever
    their split: one whose labels were all undone comes back)."""
    labelled = LabelOverride.objects.filter(document__sha256=OuterRef("sha256"))
    return (
        Document.objects.filter(reference_summary="")
        .exclude(Exists(labelled))
        .select_related("owner")
    )


def label_next_queue(limit: int = QUEUE_LIMIT) -> list[QueueRow]:
    """Unlabelled uploads, the ones the serving model is least sure of first (smallest
    margin); documents without a trained model's scores last, newest first. One row
    per text (copies share their labels)."""
    documents = list(unlabelled_uploads().order_by("-created_at", "-id")[:limit])
    latest: dict[int, Summary] = {}
    summaries = Summary.objects.filter(
        document__in=documents, status=JobStatus.SUCCEEDED, model__in=TrainableKind.values
    ).order_by("document_id", "-finished_at", "-id")
    for s in summaries.only("id", "document_id", "sentences", "finished_at"):
        latest.setdefault(s.document_id, s)
    rows, seen = [], set()
    for d in documents:
        if d.sha256 in seen:
            continue
        seen.add(d.sha256)
        s = latest.get(d.pk)
        rows.append(QueueRow(d, margin(s.sentences) if s else None, s.pk if s else None))
    scored = [(r.margin, n, r) for n, r in enumerate(rows) if r.margin is not None]
    return [r for _, _, r in sorted(scored)] + [r for r in rows if r.margin is None]


# --- views -----------------------------------------------------------------------------


def label_url(document_id: int, index: int | None = None, queue: bool = False) -> str:
    url = reverse("admin:jobs_document_label", args=[document_id])
    query = [f"s={index}"] if index is not None else []
    if queue:
        query.append("queue=1")
    return url + ("?" + "&".join(query) if query else "")


def _index(value: str, count: int) -> int | None:
    # At most 9 digits: int() of over 4,300 raises (a 500), and no document is longer.
    if value.isascii() and value.isdigit() and len(value) < 10 and int(value) < count:
        return int(value)
    return None


def label_view(model_admin, request, pk: int):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    document = get_object_or_404(Document, pk=pk)
    rows = label_rows(document)
    current = _index(request.GET.get("s", ""), len(rows))
    if current is None:
        current = next((r.index for r in rows if r.source in ("", LabelSource.ORACLE)), 0)
    in_queue = bool(request.GET.get("queue"))
    labelled = [r for r in rows if r.source in (LabelSource.STAFF, LabelSource.CORRECTION)]
    at = rows[current] if rows else None

    def action_url(action: str) -> str:
        url = reverse("admin:jobs_document_label_action", args=[document.pk, action])
        return f"{url}?s={current}" + ("&queue=1" if in_queue else "")

    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "media": model_admin.media,
        "title": f"Label {document}",
        "document": document,
        "rows": rows,
        "current": at,
        "counts": {
            "labelled": plural(len(labelled), "staff label"),
            "sentences": plural(len(rows), "sentence"),
            "in_summary": sum(1 for r in rows if r.label == 1),
        },
        "may_operate": model_admin.may(request),
        "actions": {a: action_url(a) for a in ("in", "out", "remove", "undo")},
        "prev_url": label_url(document.pk, current - 1, in_queue) if current > 0 else "",
        "next_url": (
            label_url(document.pk, current + 1, in_queue) if current + 1 < len(rows) else ""
        ),
        "next_document_url": _next_document_url(document) if in_queue else "",
        "queue_url": reverse("admin:jobs_document_label_next"),
        "split_rule": split_when_labelled(document),
        "copies": reviews.copies(document).exclude(pk=document.pk).count(),
        "history": _history(document),
    }
    return TemplateResponse(request, "admin/jobs/document/label.html", context)


def _next_document_url(document: Document) -> str:
    for row in label_next_queue():
        if row.document.sha256 != document.sha256:
            return label_url(row.document.pk, queue=True)
    return reverse("admin:jobs_document_label_next")


def label_name(label: int | None) -> str:
    return {None: "no staff label", 0: "not in summary", 1: "in summary"}[label]


def _history(document: Document) -> list[dict[str, Any]]:
    events = ReviewEvent.objects.filter(document=document).select_related("by")[:20]
    return [
        {"event": e, "label": f"{label_name(e.label_before)} → {label_name(e.label_after)}"}
        for e in events
    ]


def label_action_view(model_admin, request, pk: int, action: str):
    """POST in / out (label the sentence ?s=, then the next one), remove, undo."""
    model_admin.require(request)
    document = get_object_or_404(Document, pk=pk)
    texts = reviews.sentence_texts(document)  # split once for the page and the label
    count = len(texts)
    index = _index(request.GET.get("s", ""), count)
    in_queue = bool(request.GET.get("queue"))
    if request.method != "POST":
        return HttpResponseRedirect(label_url(pk, index, in_queue))
    try:
        if action == "undo":
            event = reviews.last_decision(request.user, document_id=document.pk)
            if event is None:
                raise InvalidInput("nothing of yours to undo on this document")
            reviews.undo(event, request.user)
            model_admin.message_user(
                request,
                f"Undid: {event.get_action_display().lower()} (sentence {event.sentence_index}).",
            )
            return HttpResponseRedirect(label_url(pk, event.sentence_index, in_queue))
        if index is None:
            raise InvalidInput(f"choose a sentence from 0 to {count - 1}")
        if action == "remove":
            reviews.remove_label(document, index, request.user)
            model_admin.message_user(request, f"Removed the staff label of sentence {index}.")
            return HttpResponseRedirect(label_url(pk, index, in_queue))
        if action not in LABEL_ACTIONS:
            raise InvalidInput(f"unknown labelling action '{action}'; use in, out or remove")
        reviews.set_label(document, index, LABEL_ACTIONS[action], request.user, texts=texts)
    except InvalidInput as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(label_url(pk, index, in_queue))
    after = index + 1 if index + 1 < count else index
    return HttpResponseRedirect(label_url(pk, after, in_queue))


def label_next_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    rows = label_next_queue()
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "media": model_admin.media,
        "title": "Label next",
        "rows": [(r, label_url(r.document.pk, queue=True)) for r in rows[:200]],
        "total": plural(len(rows), "unlabelled document"),
        "limit": QUEUE_LIMIT,
    }
    return TemplateResponse(request, "admin/jobs/document/label_next.html", context)
