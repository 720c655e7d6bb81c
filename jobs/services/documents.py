"""Documents: submit (one or a batch), import a dataset, delete."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from ..models import Document, Split, Summary
from ..text import detect_language
from .characters import check_storable
from .errors import BatchInvalid, InvalidInput, NotAllowed
from .reviews import share_labels
from .splits import check_may_set_split, may_manage_training_data
from .summaries import create_summary, new_summary, send_summaries
from .validation import (
    TITLE_MAX_CHARS,
    validate_available_model,
    validate_max_sentences,
    validate_split,
    validate_text,
    validate_title,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentInput:
    text: str
    title: str = ""
    reference_summary: str = ""
    model: str = ""
    max_sentences: int = 3
    summarize: bool = True
    split: str = Split.NONE
    source_id: str = ""


TRAINING_SPLITS = (Split.TRAIN, Split.VALIDATION)


@dataclass(frozen=True)
class Submission:
    document: Document
    summary: Summary | None
    # Splits (train, validation) that already hold this text: the upload duplicates
    # training data; any staff labels of the text apply to this copy too.
    duplicate_of: tuple[str, ...] = ()


def link_copies(documents: Sequence[Document]) -> dict[int, tuple[str, ...]]:
    """New documents join the copies of their text (same sha256): they get the labels
    the text already has. Returns, for each, the training splits its copies are in.
    One query when no document is a copy."""
    copies = (
        Document.objects.filter(sha256__in={d.sha256 for d in documents})
        .exclude(pk__in=[d.pk for d in documents])
        .values_list("sha256", "split")
    )
    found: dict[str, set[str]] = {}
    for digest, split in copies:
        found.setdefault(digest, set()).add(split)
    share_labels([d for d in documents if d.sha256 in found])
    return {
        d.pk: tuple(sorted(found.get(d.sha256, set()) & set(TRAINING_SPLITS))) for d in documents
    }


def validate_document(
    item: DocumentInput, models: dict[str, str | InvalidInput] | None = None
) -> DocumentInput:
    """``item`` checked by the rules of jobs.services.validation. ``models`` memoizes
    the model checks (each a database query and a directory stat) across a batch."""
    validate_text(item.text)
    validate_title(item.title)
    for name in ("reference_summary", "source_id"):
        check_storable(getattr(item, name), name)
    validate_split(item.split)
    validate_max_sentences(item.max_sentences)
    _checked_model(item.model, {} if models is None else models)
    return item


def _checked_model(model: str, memo: dict[str, str | InvalidInput]) -> str:
    if model not in memo:
        try:
            memo[model] = validate_available_model(model)
        except InvalidInput as exc:
            memo[model] = exc
    found = memo[model]
    if isinstance(found, InvalidInput):
        raise found
    return found


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _new_document(owner, item: DocumentInput) -> Document:
    return Document(
        owner=owner,
        title=item.title.strip(),  # validate_title: at most TITLE_MAX_CHARS
        text=item.text,
        reference_summary=item.reference_summary,
        split=item.split,
        source_id=item.source_id[:200],
        language=detect_language(item.text),
        sha256=_sha256(item.text),
    )


@transaction.atomic
def submit_document(owner, item: DocumentInput) -> Submission:
    """Store a document and, unless told not to, queue its summary. Only staff may
    give it a split (``NotAllowed``, nothing stored), asked before the other rules
    (whose checks split the text) once the split itself is one."""
    check_may_set_split(owner, _known_splits([item]))
    item = validate_document(item)
    document = _new_document(owner, item)
    document.save(force_insert=True)
    duplicate_of = link_copies([document])[document.pk]
    summary = (
        create_summary(document, owner, item.model, item.max_sentences) if item.summarize else None
    )
    return Submission(document, summary, duplicate_of)


def submit_documents(owner, items: Sequence[DocumentInput]) -> list[Submission]:
    """All or nothing: every item is validated before any is stored; the rows are
    inserted in bulk (one INSERT per table and batch) and one message per summary is
    sent on commit."""
    if not items:
        raise InvalidInput("the batch is empty: send at least one document")
    if len(items) > settings.MAX_BATCH_DOCUMENTS:
        raise InvalidInput(
            f"the batch has {len(items)} documents; the limit is {settings.MAX_BATCH_DOCUMENTS}"
        )
    check_may_set_split(owner, _known_splits(items))
    valid = _validate_batch(items)
    with transaction.atomic():
        documents = Document.objects.bulk_create([_new_document(owner, i) for i in valid])
        duplicates = link_copies(documents)
        wanted = [(d, i) for d, i in zip(documents, valid, strict=True) if i.summarize]
        summaries = Summary.objects.bulk_create(
            [new_summary(d, owner, i.model, i.max_sentences) for d, i in wanted]
        )
        send_summaries(summaries)
    by_document = {s.document_id: s for s in summaries}
    return [Submission(d, by_document.get(d.pk), duplicates[d.pk]) for d in documents]


def _known_splits(items: Sequence[DocumentInput]) -> list[str]:
    """The items' splits that are splits: an unknown value is the rules' 400, not a 403."""
    return [i.split for i in items if i.split in Split.values]


def _validate_batch(items: Sequence[DocumentInput]) -> list[DocumentInput]:
    errors: dict[int, str] = {}
    fields: dict[int, str] = {}
    models: dict[str, str | InvalidInput] = {}
    valid = []
    for i, item in enumerate(items):
        try:
            valid.append(validate_document(item, models))
        except InvalidInput as exc:
            errors[i] = f"{exc.field + ': ' if exc.field else ''}{exc.message}"
            if exc.field:
                fields[i] = exc.field
    if errors:
        raise BatchInvalid(errors, fields)
    return valid


TRAINING_DATA_KEPT = (
    "this document is training data (split {split}): only staff with the permission to "
    "change documents can delete it; ask staff to take it out of the split first"
)


@transaction.atomic
def delete_document(document: Document, by=None) -> None:
    """Delete a document with its summaries, label overrides and misclassified sentences.

    A document in a split is training data (its labels may exist on no other copy): a
    client (``by``) who may not manage training data gets ``NotAllowed`` and nothing
    is deleted. ``by`` None: the system (tests, maintenance).

    A summary of it that a worker is producing is dropped when the worker finishes
    (its row is gone, so ``leases.finish`` discards the result); a training run that
    already read the document keeps it in its snapshot but stores no review rows for it.
    """
    if by is not None and document.split and not may_manage_training_data(by):
        raise NotAllowed(TRAINING_DATA_KEPT.format(split=document.split), "split")
    Document.objects.filter(pk=document.pk).delete()
    logger.info("document %s deleted", document.pk)


def import_examples(owner, examples: Iterable, split: str) -> tuple[int, int]:
    """Store dataset examples as documents; skips ones this owner already has.

    Returns (created, skipped). Each example has ``id``, ``text``, ``reference``.
    """
    validate_split(split)
    created = skipped = 0
    with transaction.atomic():
        existing = set(
            Document.objects.filter(owner=owner, split=split).values_list("sha256", flat=True)
        )
        for ex in examples:
            digest = _sha256(ex.text)
            if not ex.text.strip() or digest in existing:
                skipped += 1
                continue
            item = DocumentInput(
                text=ex.text,
                reference_summary=ex.reference,
                split=split,
                source_id=ex.id,
                title=ex.id[:TITLE_MAX_CHARS],
                summarize=False,
            )
            validate_document(item)
            document = _new_document(owner, item)
            document.save(force_insert=True)
            link_copies([document])
            existing.add(digest)
            created += 1
    return created, skipped
