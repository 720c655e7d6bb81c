"""Summaries: queue one, run one again, summarize a text synchronously."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import engines, messages
from ..models import Document, JobStatus, Summary
from ..text import detect_language
from .validation import (
    resolve_model,
    validate_available_model,
    validate_max_sentences,
    validate_sentence_count,
    validate_text,
)


def new_summary(document: Document, requested_by, model: str, max_sentences: int) -> Summary:
    """An unsaved QUEUED summary, marked as sent now (:func:`send_summaries` sends it)."""
    return Summary(
        document=document,
        status=JobStatus.QUEUED,
        requested_by=requested_by,
        requested_model=model,
        model=model,
        max_sentences=max_sentences,
        enqueued_at=timezone.now(),  # what LeasedJob.enqueue records, without a second query
    )


def send_summaries(summaries: list[Summary]) -> None:
    """One message per saved summary, sent once the transaction commits."""
    for summary in summaries:
        messages.enqueue_on_commit(Summary.task_name, summary.pk)


def create_summary(document: Document, requested_by, model: str, max_sentences: int) -> Summary:
    """A QUEUED summary row, its message sent on commit (callers validate first)."""
    summary = new_summary(document, requested_by, model, max_sentences)
    summary.save(force_insert=True)
    send_summaries([summary])
    return summary


@transaction.atomic
def request_summary(document: Document, requested_by, model: str = "", max_sentences: int = 3):
    """Queue a new summary of an existing document."""
    model = validate_available_model(model)
    validate_max_sentences(max_sentences)
    # A document stored before MAX_DOCUMENT_SENTENCES was lowered may exceed it.
    validate_sentence_count(document.text)
    return create_summary(document, requested_by, model, max_sentences)


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
    summary.enqueue()
    return True


@transaction.atomic
def cancel_summary(summary: Summary, by=None) -> bool:
    """Cancel a QUEUED summary: it is never run (the claim refuses a finished job, so a
    message already in the broker is dropped). False if it is running or finished."""
    summary = Summary.objects.select_for_update().get(pk=summary.pk)
    if summary.status != JobStatus.QUEUED:
        return False
    summary.status = JobStatus.CANCELLED
    summary.finished_at = timezone.now()
    summary.notes = "\n".join(
        filter(None, [summary.notes, f"cancelled by {by}" if by else "cancelled"])
    )
    summary.save(update_fields=["status", "finished_at", "notes"])
    return True


def summarize_text(text: str, model: str = "", max_sentences: int = 3, on_loading=None):
    """Summarize synchronously (nothing stored). Returns (ml Summary, engines.Resolved).

    The rules of a document's text and max_sentences, then one lookup of what serves
    ``model`` (a kind that cannot serve is InvalidInput, as at request time).
    ``on_loading(resolved)`` is called before the model loads (seconds for a trained one).
    """
    validate_text(text)
    validate_max_sentences(max_sentences)
    resolved = engines.for_language(resolve_model(model), detect_language(text))
    if on_loading is not None:
        on_loading(resolved)
    system = engines.get_system(resolved)
    result = system.summarize([text], max_sentences=max_sentences)[0]
    return result, resolved
