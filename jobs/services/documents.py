"""Every write and state change of the service (Zulip-style actions).

Views, tasks, admin and commands call these functions and nothing else writes
to the models. Side effects on the broker happen on commit, so a rolled-back
request never leaves a message for a row that does not exist.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.text.sentences import detect_language

from .. import engines
from ..models import TERMINAL_STATUSES, Document, JobStatus, ModelKind, Split, Summary
from .lifecycle import gave_up, reap

logger = logging.getLogger(__name__)


class InvalidInput(ValueError):
    """Bad input from a client or operator; the message says what is wrong."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class BatchInvalid(InvalidInput):
    """Some documents of a batch are invalid; `errors` maps item index to message."""

    def __init__(self, errors: dict[int, str]):
        first = min(errors)
        super().__init__(
            f"{len(errors)} document(s) invalid; first at item {first}: {errors[first]}"
        )
        self.errors = errors


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


@dataclass(frozen=True)
class Submission:
    document: Document
    summary: Summary | None


# --- validation -------------------------------------------------------------


def validate_model(model: str) -> str:
    model = (model or "").strip().lower()
    if model and model not in ModelKind.values:
        raise InvalidInput(
            f"unknown model '{model}'; choose one of: {', '.join(ModelKind.values)}", "model"
        )
    if model and not engines.is_available(model):
        raise InvalidInput(
            f"model '{model}' has no trained version yet; "
            f"available: {', '.join(engines.available_kinds())}",
            "model",
        )
    return model


def validate_max_sentences(n: int) -> int:
    limit = settings.MAX_SUMMARY_SENTENCES
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise InvalidInput(f"max_sentences must be an integer from 1 to {limit}", "max_sentences")
    return n


def validate_document(item: DocumentInput) -> DocumentInput:
    if not isinstance(item.text, str) or not item.text.strip():
        raise InvalidInput("text is empty: send the document's text", "text")
    if len(item.text) > settings.MAX_DOCUMENT_CHARS:
        raise InvalidInput(
            f"text is {len(item.text):,} characters; the limit is {settings.MAX_DOCUMENT_CHARS:,}",
            "text",
        )
    if "\x00" in item.text:
        raise InvalidInput("text contains NUL characters; send plain text", "text")
    if item.split not in Split.values:
        raise InvalidInput(f"split must be one of: {', '.join(Split.values[1:])}", "split")
    validate_max_sentences(item.max_sentences)
    validate_model(item.model)
    return item


# --- documents and summaries -------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _create_document(owner, item: DocumentInput) -> Document:
    return Document.objects.create(
        owner=owner,
        title=item.title.strip()[:300],
        text=item.text,
        reference_summary=item.reference_summary,
        split=item.split,
        source_id=item.source_id[:200],
        language=detect_language(item.text),
        sha256=_sha256(item.text),
    )


def _enqueue_summary(summary: Summary) -> None:
    from ..tasks import summarize

    summary.enqueued_at = timezone.now()
    Summary.objects.filter(pk=summary.pk).update(enqueued_at=summary.enqueued_at)
    summarize.delay_on_commit(summary.pk)


def _create_summary(document: Document, requested_by, model: str, max_sentences: int) -> Summary:
    summary = Summary.objects.create(
        document=document,
        requested_by=requested_by,
        requested_model=model,
        model=model,
        max_sentences=max_sentences,
        status=JobStatus.QUEUED,
    )
    _enqueue_summary(summary)
    return summary


@transaction.atomic
def submit_document(owner, item: DocumentInput) -> Submission:
    """Store a document and, unless told not to, queue its summary."""
    validate_document(item)
    document = _create_document(owner, item)
    summary = (
        _create_summary(document, owner, validate_model(item.model), item.max_sentences)
        if item.summarize
        else None
    )
    return Submission(document, summary)


def submit_documents(owner, items: Sequence[DocumentInput]) -> list[Submission]:
    """All or nothing: every item is validated before any is stored."""
    if not items:
        raise InvalidInput("the batch is empty: send at least one document")
    if len(items) > settings.MAX_BATCH_DOCUMENTS:
        raise InvalidInput(
            f"the batch has {len(items)} documents; the limit is {settings.MAX_BATCH_DOCUMENTS}"
        )
    errors: dict[int, str] = {}
    for i, item in enumerate(items):
        try:
            validate_document(item)
        except InvalidInput as exc:
            errors[i] = f"{exc.field + ': ' if exc.field else ''}{exc.message}"
    if errors:
        raise BatchInvalid(errors)
    with transaction.atomic():
        return [submit_document(owner, item) for item in items]


@transaction.atomic
def request_summary(document: Document, requested_by, model: str = "", max_sentences: int = 3):
    """Queue a new summary of an existing document."""
    model = validate_model(model)
    validate_max_sentences(max_sentences)
    return _create_summary(document, requested_by, model, max_sentences)


@transaction.atomic
def delete_document(document: Document) -> None:
    """Delete a document with its summaries, label overrides and misclassified sentences.

    A summary of it that a worker is producing is dropped when the worker finishes
    (its row is gone, so ``_finish`` discards the result); a training run that already
    read the document keeps it in its snapshot but stores no review rows for it.
    """
    Document.objects.filter(pk=document.pk).delete()
    logger.info("document %s deleted", document.pk)


def import_examples(owner, examples: Iterable, split: str) -> tuple[int, int]:
    """Store dataset examples as documents; skips ones this owner already has.

    Returns (created, skipped). Each example has ``id``, ``text``, ``reference``.
    """
    if split not in Split.values:
        raise InvalidInput(f"split must be one of: {', '.join(Split.values[1:])}", "split")
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
                title=ex.id,
                summarize=False,
            )
            validate_document(item)
            _create_document(owner, item)
            existing.add(digest)
            created += 1
    return created, skipped


# --- running summaries (called by the inference worker) -----------------------


def _claim(summary_id: int) -> tuple[Summary, uuid.UUID] | None:
    """Take the lease on a summary job, or return None if there is nothing to do."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.SUMMARY_STALE_AFTER)
    with transaction.atomic():
        summary = (
            Summary.objects.select_for_update().select_related("document").filter(pk=summary_id)
        ).first()
        if summary is None:
            logger.warning("summary %s does not exist (deleted?); dropping the task", summary_id)
            return None
        if summary.status in TERMINAL_STATUSES:
            return None  # a redelivered message for a finished job
        if (
            summary.status == JobStatus.RUNNING
            and summary.heartbeat_at
            and summary.heartbeat_at > stale_before
        ):
            return None  # another worker holds a live lease
        if summary.attempts >= settings.JOB_MAX_ATTEMPTS:
            summary.status = JobStatus.FAILED
            summary.error = f"{gave_up(summary.attempts)} (killed, out of memory or time limit)"
            summary.finished_at = now
            summary.save(update_fields=["status", "error", "finished_at"])
            return None
        summary.status = JobStatus.RUNNING
        summary.attempts += 1
        summary.lease_token = uuid.uuid4()
        summary.started_at = summary.heartbeat_at = now
        summary.error = ""
        summary.save(
            update_fields=[
                "status",
                "attempts",
                "lease_token",
                "started_at",
                "heartbeat_at",
                "error",
            ]
        )
        return summary, summary.lease_token


def _finish(summary_id: int, lease: uuid.UUID, **fields) -> bool:
    with transaction.atomic():
        summary = Summary.objects.select_for_update().filter(pk=summary_id).first()
        if summary is None or summary.lease_token != lease or summary.status != JobStatus.RUNNING:
            logger.info("summary %s: lease lost, discarding this attempt's result", summary_id)
            return False
        for name, value in fields.items():
            setattr(summary, name, value)
        summary.finished_at = summary.heartbeat_at = timezone.now()
        summary.save()
        return True


def summarize_text(text: str, model: str = "", max_sentences: int = 3):
    """Summarize synchronously (no database). Returns (ml Summary, engines.Resolved)."""
    resolved = engines.resolve(validate_model(model))
    validate_max_sentences(max_sentences)
    system = engines.get_system(resolved)
    result = system.summarize([text], max_sentences=max_sentences)[0]
    return result, resolved


def run_summary(summary_id: int) -> None:
    """Produce a queued summary. Idempotent: safe to call again for the same id."""
    claimed = _claim(summary_id)
    if claimed is None:
        return
    summary, lease = claimed
    began = time.monotonic()
    try:
        result, resolved = summarize_text(
            summary.document.text, summary.requested_model, summary.max_sentences
        )
    except engines.ModelUnavailable as exc:
        _finish(summary_id, lease, status=JobStatus.FAILED, error=str(exc))
        return
    except Exception as exc:
        logger.exception("summary %s failed", summary_id)
        _finish(summary_id, lease, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return
    notes = [n for n in [resolved.note, *result.notes] if n]
    _finish(
        summary_id,
        lease,
        status=JobStatus.SUCCEEDED,
        model=resolved.kind,
        model_version=resolved.version_label,
        version_id=resolved.version_id,
        sentences=[
            {
                "index": s.index,
                "text": s.text,
                "start": s.start,
                "end": s.end,
                "score": round(float(s.score), 6),
                "selected": bool(s.selected),
            }
            for s in result.sentences
        ],
        summary_text=result.text,
        notes="\n".join(notes),
        error="",
    )
    logger.info("summary %s done in %.2fs", summary_id, time.monotonic() - began)


@transaction.atomic
def requeue_summary(summary: Summary) -> bool:
    """Staff action: run a failed or cancelled summary again (fresh attempts)."""
    summary = Summary.objects.select_for_update().get(pk=summary.pk)
    if summary.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        return False
    summary.status = JobStatus.QUEUED
    summary.attempts = 0
    summary.error = ""
    summary.lease_token = None
    summary.finished_at = None
    summary.save()
    _enqueue_summary(summary)
    return True


@dataclass(frozen=True)
class ReapResult:
    requeued: int
    failed: int


def reap_stale_summaries() -> ReapResult:
    """Requeue summaries whose worker or message was lost (see lifecycle.reap)."""
    result = ReapResult(*reap(Summary, settings.SUMMARY_STALE_AFTER, _enqueue_summary))
    if result.requeued or result.failed:
        logger.info("reaper: requeued %d, failed %d summaries", result.requeued, result.failed)
    return result
