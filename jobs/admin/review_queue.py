"""The review queue page: one run's misclassified sentences, one at a time, by keyboard.

The current sentence is shown in its whole document with the run's score on every
sentence and the reference beside it; Flip / Confirm / Undo are POST forms (CSRF),
and a small inline script maps keys to them. After each decision the page moves to
the next open item. Writes go through ``jobs.services.reviews``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ..models import (
    ErrorKind,
    ReviewEvent,
    ReviewStatus,
    RunPrediction,
    RunRole,
    SentenceError,
    TrainingRun,
)
from ..queries.documents import highlight
from ..services import reviews
from ..services.errors import InvalidInput

WINDOW = (10, 15)  # queue rows shown before / after the current one


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def label_name(label: int | None) -> str:
    return {None: "oracle label", 0: "not in summary", 1: "in summary"}[label]


@dataclass(frozen=True)
class Position:
    """Where the run ranked a sentence among its document's sentences."""

    score: float | None
    rank: int | None  # 1 = the highest score in the document
    scored: int  # sentences the model scored
    selected: int  # sentences it selected
    threshold: float | None  # the lowest score it selected
    cut_reason: str = ""


def position(error: SentenceError, prediction: RunPrediction | None) -> Position:
    sentences = prediction.sentences if prediction else []
    scored = sorted((s for s in sentences if s.get("score") is not None), key=lambda s: -s["score"])
    chosen = [s["score"] for s in sentences if s.get("selected") and s.get("score") is not None]
    rank = next((i + 1 for i, s in enumerate(scored) if s["index"] == error.sentence_index), None)
    return Position(
        score=error.probability,
        rank=rank,
        scored=len(scored),
        selected=len(chosen),
        threshold=min(chosen) if chosen else None,
    )


FLIP_EFFECT = {
    RunRole.TRAIN: "a training document: a flip changes what the next run learns",
    RunRole.VALIDATION: "a validation document: a flip changes how the next run is judged "
    "(its validation loss and the sentences it reports as misclassified), not what it "
    "learns; ROUGE, which selects checkpoints and gates promotion, compares with the "
    "reference summary",
}


def flip_effect(error: SentenceError) -> str:
    """What flipping this sentence's label does, by what its document was to the run."""
    return FLIP_EFFECT.get(error.split, FLIP_EFFECT[RunRole.VALIDATION])


def describe(error: SentenceError, where: Position) -> str:
    """Why the sentence counts as misclassified, e.g. "rank 3 of 3 selected, score 0.01"."""
    if where.score is None:
        return "not scored (cut off before the model's input ended)"
    score = f"score {where.score:.2f}"
    if where.rank is None:  # a run from before predictions were stored
        kind = "selected" if error.kind == ErrorKind.FALSE_POSITIVE else "not selected"
        return f"{kind}, {score}"
    if error.kind == ErrorKind.FALSE_POSITIVE:
        return f"rank {where.rank} of {where.selected} selected, {score}"
    cut = "" if where.threshold is None else f"; lowest selected {where.threshold:.2f}"
    return f"rank {where.rank} of {where.scored}, not selected ({score}{cut})"


def review_url(run_id: int, item: int | None = None) -> str:
    url = reverse("admin:jobs_sentenceerror_review", args=[run_id])
    return f"{url}?item={item}" if item else url


def next_open(ids: list[int], open_ids: set[int], after: int | None) -> int | None:
    """The first open item after `after` in queue order, wrapping around."""
    if not open_ids:
        return None
    start = ids.index(after) + 1 if after in ids else 0
    for pk in ids[start:] + ids[:start]:
        if pk in open_ids:
            return pk
    return None


def run_queue(run_id: int):
    """The run's misclassified sentences in reading order: document by document."""
    return SentenceError.objects.filter(run_id=run_id).order_by("document_id", "sentence_index")


def review_view(model_admin, request, run_id: int):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    run = get_object_or_404(TrainingRun, pk=run_id)
    errors = run_queue(run.pk)
    rows = list(errors.values_list("pk", "review_status"))
    ids = [pk for pk, _ in rows]
    open_ids = {pk for pk, status in rows if status == ReviewStatus.OPEN}
    chosen = request.GET.get("item", "")
    current_id = (
        int(chosen) if (chosen.isascii() and chosen.isdigit()) and int(chosen) in ids else None
    )
    if current_id is None:
        current_id = next_open(ids, open_ids, None) or (ids[0] if ids else None)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "media": model_admin.media,
        "title": f"Review run {run.pk}",
        "run": run,
        "counts": {
            "all": plural(len(ids), "misclassified sentence"),
            "open": plural(len(open_ids), "open sentence"),
        },
        "may_operate": model_admin.may(request),
        "undo_url": reverse("admin:jobs_sentenceerror_review_undo", args=[run.pk]),
        "history": _history(run),
    }
    if current_id is not None:
        context.update(_item_context(run, ids, current_id, errors))
    return TemplateResponse(request, "admin/jobs/sentenceerror/review.html", context)


def _item_context(run, ids: list[int], current_id: int, errors) -> dict[str, Any]:
    at = ids.index(current_id)
    error = errors.select_related("document", "reviewed_by").get(pk=current_id)
    document = error.document
    prediction = RunPrediction.objects.filter(run=run, document=document).first()
    where = position(error, prediction)
    low, high = max(0, at - WINDOW[0]), at + WINDOW[1]
    window = list(errors.filter(pk__in=ids[low:high]).select_related("document"))
    return {
        "item": error,
        "item_number": at + 1,
        "why": describe(error, where),
        "flip_effect": flip_effect(error),
        "position": where,
        "segments": highlight(document, prediction.sentences if prediction else []),
        "has_prediction": prediction is not None,
        "reference_sentences": [
            line.strip() for line in document.reference_summary.splitlines() if line.strip()
        ],
        "prev_url": review_url(run.pk, ids[at - 1]) if at > 0 else "",
        "next_url": review_url(run.pk, ids[at + 1]) if at + 1 < len(ids) else "",
        "queue": [(e, review_url(run.pk, e.pk), _action_urls(run.pk, e.pk)) for e in window],
        "actions": _action_urls(run.pk, error.pk),
    }


def _action_urls(run_id: int, error_id: int) -> dict[str, str]:
    return {
        action: reverse("admin:jobs_sentenceerror_review_action", args=[run_id, error_id, action])
        for action in ("flip", "confirm", "undo")
    }


def _history(run: TrainingRun) -> list[dict[str, Any]]:
    events = ReviewEvent.objects.filter(error__run=run).select_related("by", "error")[:20]
    return [
        {
            "event": e,
            "sentence": e.error.text if e.error else f"sentence {e.sentence_index}",
            "status": f"{e.status_before or '–'} → {e.status_after or '–'}",
            "label": f"{label_name(e.label_before)} → {label_name(e.label_after)}",
        }
        for e in events
    ]


def action_view(model_admin, request, run_id: int, error_id: int, action: str):
    """POST flip / confirm / undo of one item; then the next open item (undo: the item)."""
    model_admin.require(request)
    error = get_object_or_404(SentenceError, pk=error_id, run_id=run_id)
    if request.method != "POST":
        return HttpResponseRedirect(review_url(run_id, error.pk))
    try:
        if action == "undo":
            event = reviews.last_decision(request.user, error_id=error.pk)
            if event is None:
                raise InvalidInput("nothing to undo for this sentence")
            reviews.undo(event, request.user)
            model_admin.message_user(request, f"Undid: {event.get_action_display().lower()}.")
            return HttpResponseRedirect(review_url(run_id, error.pk))
        if action not in reviews.REVIEW_ACTIONS:
            raise InvalidInput(f"unknown review action '{action}'; use flip, confirm or undo")
        reviews.REVIEW_ACTIONS[action](error, request.user)
    except InvalidInput as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(review_url(run_id, error.pk))
    if request.GET.get("back"):  # a row's button in the list: back to the same list
        done = "Flipped" if action == "flip" else "Confirmed"
        model_admin.message_user(request, f"{done} the gold label of “{error.text[:80]}”.")
        return HttpResponseRedirect(_back(request))
    return HttpResponseRedirect(_after(run_id, error.pk))


def _back(request) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return reverse("admin:jobs_sentenceerror_changelist")


def _after(run_id: int, current: int) -> str:
    rows = list(run_queue(run_id).values_list("pk", "review_status"))
    nxt = next_open(
        [pk for pk, _ in rows], {pk for pk, s in rows if s == ReviewStatus.OPEN}, current
    )
    return review_url(run_id, nxt) if nxt else review_url(run_id, current) + "&done=1"


def undo_last_view(model_admin, request, run_id: int):
    """POST: undo the reviewer's newest decision in this run; show that sentence."""
    model_admin.require(request)
    if request.method != "POST":
        return HttpResponseRedirect(review_url(run_id))
    event = reviews.last_decision(request.user, run_id=run_id)
    if event is None:
        model_admin.message_user(request, "Nothing to undo in this run.", messages.WARNING)
        return HttpResponseRedirect(review_url(run_id))
    reviews.undo(event, request.user)
    text = event.error.text if event.error else f"sentence {event.sentence_index}"
    model_admin.message_user(
        request, f"Undid: {event.get_action_display().lower()} of “{text[:80]}”."
    )
    return HttpResponseRedirect(review_url(run_id, event.error_id))
