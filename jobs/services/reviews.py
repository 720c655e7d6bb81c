"""Staff review of misclassified sentences and label corrections.

Every decision (flip, confirm, revert) is a ``ReviewEvent`` holding the review
status and staff label before and after it, so any decision can be undone and
the history (who, when, from, to) stays.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ..models import Document, LabelOverride, ReviewEvent, ReviewStatus, SentenceError
from ..text import split_sentences
from .errors import InvalidInput

DECISIONS = ("flip", "confirm", "revert")


@transaction.atomic
def set_label(document: Document, sentence_index: int, label: int, by, source=None):
    """Set the gold label of one sentence; later runs train (and validate) with it."""
    if label not in (0, 1):
        raise InvalidInput("label must be 0 (not in summary) or 1 (in summary)", "label")
    count = len(split_sentences(document.text))
    if not 0 <= sentence_index < count:
        raise InvalidInput(
            f"sentence_index must be from 0 to {count - 1} for this document", "sentence_index"
        )
    override, _ = LabelOverride.objects.update_or_create(
        document=document,
        sentence_index=sentence_index,
        defaults={"label": label, "created_by": by, "source_error": source},
    )
    return override


def _override_label(document_id: int, sentence_index: int) -> int | None:
    return (
        LabelOverride.objects.filter(document_id=document_id, sentence_index=sentence_index)
        .values_list("label", flat=True)
        .first()
    )


def _locked(error: SentenceError) -> SentenceError:
    return SentenceError.objects.select_for_update().select_related("document").get(pk=error.pk)


def _record(error, action: str, before: tuple[str, int | None], by) -> ReviewEvent:
    return ReviewEvent.objects.create(
        error=error,
        document_id=error.document_id,
        sentence_index=error.sentence_index,
        action=action,
        status_before=before[0],
        status_after=error.review_status,
        label_before=before[1],
        label_after=_override_label(error.document_id, error.sentence_index),
        by=by,
    )


@transaction.atomic
def flip_label(error: SentenceError, by) -> LabelOverride:
    """The model was right: the gold label becomes the model's decision."""
    error = _locked(error)
    before = (error.review_status, _override_label(error.document_id, error.sentence_index))
    override = set_label(error.document, error.sentence_index, 1 - error.label, by, source=error)
    _mark(error, ReviewStatus.FLIPPED, by)
    _record(error, "flip", before, by)
    return override


@transaction.atomic
def confirm_label(error: SentenceError, by) -> None:
    """The gold label stands (the model was wrong); drop any earlier flip of it."""
    error = _locked(error)
    before = (error.review_status, _override_label(error.document_id, error.sentence_index))
    LabelOverride.objects.filter(
        document=error.document, sentence_index=error.sentence_index, source_error=error
    ).delete()
    _mark(error, ReviewStatus.CONFIRMED, by)
    _record(error, "confirm", before, by)


def _mark(error: SentenceError, status: str, by) -> None:
    error.review_status = status
    reviewed = status != ReviewStatus.OPEN
    error.reviewed_by = by if reviewed else None
    error.reviewed_at = timezone.now() if reviewed else None
    error.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])


REVIEW_ACTIONS = {"flip": flip_label, "confirm": confirm_label}


@transaction.atomic
def review_errors(errors: Iterable[SentenceError], action: str, by) -> int:
    """Flip the gold label of (or confirm) each sentence; all or nothing."""
    if action not in REVIEW_ACTIONS:
        raise InvalidInput(f"unknown review action '{action}'; use flip or confirm")
    apply = REVIEW_ACTIONS[action]
    count = 0
    for error in errors:
        apply(error, by)
        count += 1
    return count


@transaction.atomic
def undo(event: ReviewEvent, by) -> ReviewEvent:
    """Put the sentence back as it was before `event` (its status and staff label)."""
    event = ReviewEvent.objects.select_for_update().get(pk=event.pk)
    if event.undone_at is not None or event.action not in DECISIONS:
        raise InvalidInput("this decision was already undone or cannot be undone")
    document = Document.objects.get(pk=event.document_id)
    label_now = _override_label(event.document_id, event.sentence_index)
    error = _locked(event.error) if event.error_id else None
    status_now = error.review_status if error else ""
    if event.label_before is None:
        LabelOverride.objects.filter(
            document=document, sentence_index=event.sentence_index
        ).delete()
    else:
        set_label(document, event.sentence_index, event.label_before, by, source=error)
    if error is not None and event.status_before:
        _mark(error, event.status_before, by)
    event.undone_at = timezone.now()
    event.save(update_fields=["undone_at"])
    return ReviewEvent.objects.create(
        error=error,
        document=document,
        sentence_index=event.sentence_index,
        action="undo",
        status_before=status_now,
        status_after=error.review_status if error else "",
        label_before=label_now,
        label_after=event.label_before,
        by=by,
    )


def last_decision(by, run_id: int | None = None, error_id: int | None = None):
    """The newest decision not undone yet: `by`'s in a run, or anyone's on one sentence."""
    events = ReviewEvent.objects.filter(action__in=DECISIONS, undone_at__isnull=True)
    if error_id is not None:
        events = events.filter(error_id=error_id)
    else:
        events = events.filter(error__run_id=run_id, by=by)
    return events.order_by("-at", "-id").first()


@transaction.atomic
def revert_override(override: LabelOverride, by) -> ReviewEvent:
    """Drop a staff label (the oracle's label applies again); its sentence reopens."""
    override = LabelOverride.objects.select_for_update().get(pk=override.pk)
    error = _locked(override.source_error) if override.source_error_id else None
    status_before = error.review_status if error else ""
    override.delete()
    if error is not None and error.review_status == ReviewStatus.FLIPPED:
        _mark(error, ReviewStatus.OPEN, by)
    return ReviewEvent.objects.create(
        error=error,
        document_id=override.document_id,
        sentence_index=override.sentence_index,
        action="revert",
        status_before=status_before,
        status_after=error.review_status if error else "",
        label_before=override.label,
        label_after=None,
        by=by,
    )
