"""Staff review of misclassified sentences and label corrections."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ml.text.sentences import split_sentences

from ..models import Document, LabelOverride, ReviewStatus, SentenceError
from .documents import InvalidInput


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


@transaction.atomic
def flip_label(error: SentenceError, by) -> LabelOverride:
    """The model was right: the gold label becomes the model's decision."""
    override = set_label(error.document, error.sentence_index, 1 - error.label, by, source=error)
    _mark(error, ReviewStatus.FLIPPED, by)
    return override


@transaction.atomic
def confirm_label(error: SentenceError, by) -> None:
    """The gold label stands (the model was wrong); drop any earlier flip of it."""
    LabelOverride.objects.filter(
        document=error.document, sentence_index=error.sentence_index, source_error=error
    ).delete()
    _mark(error, ReviewStatus.CONFIRMED, by)


def _mark(error: SentenceError, status: str, by) -> None:
    error.review_status = status
    error.reviewed_by = by
    error.reviewed_at = timezone.now()
    error.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])
