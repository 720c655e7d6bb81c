"""Staff labels and the review of misclassified sentences.

``LabelOverride`` is the label record: one row per labelled sentence, with its source
(staff: a document without a reference; correction: it replaces an oracle label),
who and when. Staff labels win over the oracle's. Copies of a text (same sha256)
share one set of labels: every write here goes to all of them, and a new copy gets
the labels its text already has (``share_labels``).

Every change (label, unlabel, flip, confirm, revert, undo) is a ``ReviewEvent``
holding the review status and staff label before and after it, so any decision can
be undone and the history (who, when, from, to; a removal too) stays.

A label keeps the text of its sentence (``sentence_text``): when the splitter changes,
reads apply it to the sentence with that text (``jobs.text.anchor_labels``; training
data, the labelling page, the document view), and a write first moves the document's
labels to the indexes their sentences have now (``_rekey``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ..models import (
    Document,
    LabelOverride,
    LabelSource,
    ReviewEvent,
    ReviewStatus,
    SentenceError,
)
from ..text import anchor_labels, split_sentences
from .errors import InvalidInput, NotAllowed
from .splits import is_staff, may_manage_training_data, place_labelled

DECISIONS = ("flip", "confirm", "revert", "label", "unlabel")
STAFF_ONLY_LABELS = (
    "only staff with the permission to change documents can label sentences or see "
    "their labels: labels are training data"
)


def sentence_texts(document: Document) -> list[str]:
    """The document's sentences as the dashboard shows them (what a label's index counts)."""
    return [s.text for s in split_sentences(document.text, language=document.language or None)]


def _check_index(texts: list[str], sentence_index: int) -> str:
    """The text of sentence `sentence_index`, which must exist."""
    count = len(texts)
    if isinstance(sentence_index, bool) or not 0 <= sentence_index < count:
        raise InvalidInput(
            f"sentence_index must be from 0 to {count - 1} for this document", "sentence_index"
        )
    return texts[sentence_index]


PARKED = 1_000_000_000  # + its old index (or above): a label whose sentence is gone, out of the way
_MOVING = 2_000_000_000  # + n: a label on its way to its new index (the unique constraint)


def _rekey(document: Document, texts: list[str], free: int | None = None) -> int:
    """Move the labels of every copy of the text to the indexes their sentences have now
    (``anchor_labels``), so a write by index meets the label the pages show there. A
    label whose sentence is gone stays, parked past the last sentence, where it is in
    the way (of a moved label, or of ``free``: the index about to be labelled). Returns
    how many labels moved."""
    moved = 0
    for copy in copies(document).select_for_update().order_by("pk"):
        rows = list(
            LabelOverride.objects.select_for_update()
            .filter(document=copy)
            .order_by("sentence_index")
            .values_list("pk", "sentence_index", "sentence_text")
        )
        targets = anchor_labels(texts, [(index, text) for _, index, text in rows])
        moves = {
            pk: target
            for (pk, index, _), target in zip(rows, targets, strict=True)
            if target is not None and target != index
        }
        needed = set(moves.values()) | ({free} if free is not None else set())
        parked = {index for _, index, _ in rows if index >= PARKED}
        for (pk, index, _), target in zip(rows, targets, strict=True):
            if target is None and index in needed and index < PARKED:
                # PARKED + its old index, or the next slot a label parked before left free.
                slot = PARKED + index
                while slot in parked:
                    slot += 1
                parked.add(slot)
                moves[pk] = slot
        for n, pk in enumerate(moves):
            LabelOverride.objects.filter(pk=pk).update(sentence_index=_MOVING + n)
        for pk, target in moves.items():
            LabelOverride.objects.filter(pk=pk).update(sentence_index=target)
        moved += len(moves)
    return moved


def _source(document: Document, source_error: SentenceError | int | None) -> str:
    if source_error is not None or document.reference_summary.strip():
        return LabelSource.CORRECTION
    return LabelSource.STAFF


def copies(document: Document):
    """Every document with this text (the same sha256), this one included."""
    return Document.objects.filter(sha256=document.sha256)


@transaction.atomic
def set_label(
    document: Document,
    sentence_index: int,
    label: int,
    by,
    source: SentenceError | None = None,
    *,
    record: bool = True,
    texts: list[str] | None = None,
) -> LabelOverride:
    """Set the gold label of one sentence on every copy of its text; later runs train
    (and validate) with it. A staff label (``source`` None, ``record``) is a "label"
    event in the history, and a labelled document without a split gets one
    (``splits.labelled_split``). Only staff may label. ``texts``: the document's
    sentences (``sentence_texts``) when the caller has split it already."""
    if not is_staff(by) and by is not None:
        raise NotAllowed(STAFF_ONLY_LABELS, "labels")
    if isinstance(label, bool) or label not in (0, 1):
        raise InvalidInput("label must be 0 (not in summary) or 1 (in summary)", "label")
    texts = sentence_texts(document) if texts is None else texts
    text = _check_index(texts, sentence_index)
    _rekey(document, texts, free=sentence_index)
    before = _override_label(document.pk, sentence_index)
    mine = None
    for copy in copies(document).select_for_update().order_by("pk"):
        override, _ = LabelOverride.objects.update_or_create(
            document=copy,
            sentence_index=sentence_index,
            defaults={
                "label": label,
                "created_by": by,
                "source_error": source,
                "source": _source(copy, source),
                "sentence_text": text,
            },
        )
        if copy.pk == document.pk:
            mine = override
    assert mine is not None
    if record and source is None:
        place_labelled(document)
        ReviewEvent.objects.create(
            document=document,
            sentence_index=sentence_index,
            action="label",
            label_before=before,
            label_after=label,
            by=by,
            sentence_text=text,
        )
    return mine


@transaction.atomic
def set_labels(document: Document, labels: dict[int, int], by) -> int:
    """Several staff labels of one document, all or nothing; only by staff who may
    manage training data (``splits.may_manage_training_data``)."""
    if not may_manage_training_data(by):
        raise NotAllowed(STAFF_ONLY_LABELS, "labels")
    texts = sentence_texts(document)  # split once, not once per label
    for index, label in sorted(labels.items()):
        set_label(document, index, label, by, texts=texts)
    return len(labels)


def _delete_label(document: Document, sentence_index: int, **match) -> int:
    """Drop the label of one sentence from every copy of the text."""
    deleted, _ = LabelOverride.objects.filter(
        document__sha256=document.sha256, sentence_index=sentence_index, **match
    ).delete()
    return deleted


@transaction.atomic
def remove_label(document: Document, sentence_index: int, by) -> ReviewEvent:
    """Remove a staff label (on every copy); the oracle's label, if any, applies again.
    Recorded as an "unlabel" event, so the removal shows and can be undone."""
    if not is_staff(by):
        raise NotAllowed(STAFF_ONLY_LABELS, "labels")
    _rekey(document, sentence_texts(document), free=sentence_index)
    override = (
        LabelOverride.objects.select_for_update()
        .filter(document=document, sentence_index=sentence_index)
        .first()
    )
    if override is None:
        raise InvalidInput("this sentence has no staff label to remove", "sentence_index")
    # A label a review flip made: its misclassified sentence reopens (as with revert),
    # and undoing the removal flips it again.
    error = _locked(override.source_error) if override.source_error_id else None
    status_before = error.review_status if error else ""
    _delete_label(document, sentence_index)
    if error is not None and error.review_status == ReviewStatus.FLIPPED:
        _mark(error, ReviewStatus.OPEN, by)
    return ReviewEvent.objects.create(
        error=error,
        document=document,
        sentence_index=sentence_index,
        action="unlabel",
        status_before=status_before,
        status_after=error.review_status if error else "",
        label_before=override.label,
        label_after=None,
        by=by,
        sentence_text=override.sentence_text,
    )


def share_labels(documents: Iterable[Document]) -> int:
    """Give new copies of an already labelled text that text's labels (one set per
    text), in one query. Returns how many label rows were copied."""
    documents = list(documents)
    if not documents:
        return 0
    existing = (
        LabelOverride.objects.filter(document__sha256__in={d.sha256 for d in documents})
        .exclude(document__in=[d.pk for d in documents])
        .select_related("document")
        .order_by("sentence_index", "-updated_at")
    )
    by_text: dict[str, dict[int, LabelOverride]] = {}
    for o in existing:
        by_text.setdefault(o.document.sha256, {}).setdefault(o.sentence_index, o)
    rows = [
        LabelOverride(
            document=document,
            sentence_index=o.sentence_index,
            label=o.label,
            sentence_text=o.sentence_text,
            created_by_id=o.created_by_id,
            source_error_id=o.source_error_id,
            source=_source(document, o.source_error_id),
        )
        for document in documents
        for o in by_text.get(document.sha256, {}).values()
    ]
    LabelOverride.objects.bulk_create(rows)
    return len(rows)


def labels_of(document: Document, texts: list[str] | None = None) -> dict[int, LabelOverride]:
    """The document's staff labels by the index of their sentence now (``texts``: its
    sentences, split here when not given): a label whose sentence moved under another
    splitting is at its new index, one whose sentence is gone is left out
    (``jobs.text.anchor_labels``)."""
    texts = sentence_texts(document) if texts is None else texts
    rows = list(LabelOverride.objects.filter(document=document).select_related("created_by"))
    targets = anchor_labels(texts, [(o.sentence_index, o.sentence_text) for o in rows])
    return {target: o for o, target in zip(rows, targets, strict=True) if target is not None}


def _override_label(document_id: int, sentence_index: int) -> int | None:
    return (
        LabelOverride.objects.filter(document_id=document_id, sentence_index=sentence_index)
        .values_list("label", flat=True)
        .first()
    )


def _locked(error: SentenceError) -> SentenceError:
    return SentenceError.objects.select_for_update().select_related("document").get(pk=error.pk)


def _record(
    error, action: str, before: tuple[str, int | None], by, index: int, text: str
) -> ReviewEvent:
    """The event of a review decision on sentence `index` (today's) with `text`."""
    return ReviewEvent.objects.create(
        error=error,
        document_id=error.document_id,
        sentence_index=index,
        sentence_text=text,
        action=action,
        status_before=before[0],
        status_after=error.review_status,
        label_before=before[1],
        label_after=_override_label(error.document_id, index),
        by=by,
    )


def _index_now(error: SentenceError, texts: list[str]) -> int:
    """The index, under today's splitting, of the sentence the run saw as `error.text`
    (the run split with the splitter of its day); refused when it is no longer one."""
    [index] = anchor_labels(texts, [(error.sentence_index, error.text)])
    if index is None:
        raise InvalidInput(
            "this sentence is no longer one sentence of the document (the sentence splitter "
            "changed since the run): label it on the document's page",
            "sentence_index",
        )
    return index


@transaction.atomic
def flip_label(error: SentenceError, by) -> LabelOverride:
    """The model was right: the gold label becomes the model's decision."""
    error = _locked(error)
    texts = sentence_texts(error.document)
    index = _index_now(error, texts)
    before = (error.review_status, _override_label(error.document_id, index))
    override = set_label(
        error.document, index, 1 - error.label, by, source=error, record=False, texts=texts
    )
    _mark(error, ReviewStatus.FLIPPED, by)
    _record(error, "flip", before, by, index, override.sentence_text)
    return override


@transaction.atomic
def confirm_label(error: SentenceError, by) -> None:
    """The gold label stands (the model was wrong); drop any earlier flip of it."""
    error = _locked(error)
    texts = sentence_texts(error.document)
    _rekey(error.document, texts)
    index = _index_now(error, texts)
    before = (error.review_status, _override_label(error.document_id, index))
    _delete_label(error.document, index, source_error=error)
    _mark(error, ReviewStatus.CONFIRMED, by)
    _record(error, "confirm", before, by, index, texts[index])


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
    texts = sentence_texts(document)
    # The event's sentence where it is now (the splitter may have changed since).
    [index] = anchor_labels(texts, [(event.sentence_index, event.sentence_text)])
    if index is None:
        raise InvalidInput(
            "this decision's sentence is no longer in the text (the sentence splitting "
            "changed since): it cannot be undone"
        )
    _rekey(document, texts, free=index)
    label_now = _override_label(event.document_id, index)
    error = _locked(event.error) if event.error_id else None
    status_now = error.review_status if error else ""
    if event.label_before is None:
        _delete_label(document, index)
    else:
        set_label(document, index, event.label_before, by, error, record=False)
    if error is not None and event.status_before:
        _mark(error, event.status_before, by)
    event.undone_at = timezone.now()
    event.save(update_fields=["undone_at"])
    return ReviewEvent.objects.create(
        error=error,
        document=document,
        sentence_index=index,
        sentence_text=event.sentence_text,
        action="undo",
        status_before=status_now,
        status_after=error.review_status if error else "",
        label_before=label_now,
        label_after=event.label_before,
        by=by,
    )


def last_decision(
    by, run_id: int | None = None, error_id: int | None = None, document_id: int | None = None
):
    """The newest decision not undone yet: `by`'s in a run or on a document, or
    anyone's on one sentence."""
    events = ReviewEvent.objects.filter(action__in=DECISIONS, undone_at__isnull=True)
    if error_id is not None:
        events = events.filter(error_id=error_id)
    elif document_id is not None:
        events = events.filter(document_id=document_id, by=by)
    else:
        events = events.filter(error__run_id=run_id, by=by)
    return events.order_by("-at", "-id").first()


@transaction.atomic
def revert_override(override: LabelOverride, by) -> ReviewEvent:
    """Drop a staff label (the oracle's label applies again); its sentence reopens."""
    _rekey(override.document, sentence_texts(override.document))
    override = LabelOverride.objects.select_for_update().get(pk=override.pk)
    error = _locked(override.source_error) if override.source_error_id else None
    status_before = error.review_status if error else ""
    _delete_label(override.document, override.sentence_index)
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
        sentence_text=override.sentence_text,
    )
