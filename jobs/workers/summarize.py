"""The inference worker: produce a batch of queued summaries in one batched model call.

The message names one summary; the batch is that summary plus up to
INFERENCE_BATCH_SIZE-1 other QUEUED ones of the same requested model
(``jobs.jobqueue.batches``). Documents are scored together (the ml summarizers
sort them by length and pad little, 1.5-1.9x faster than one at a time), and
every job is finished under its own lease, so one document's failure fails that
job only.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from .. import engines
from ..jobqueue import batches, leases
from ..jobqueue.heartbeat import BatchHeartbeat
from ..models import JobStatus
from ..services.errors import InvalidInput
from ..services.validation import validate_max_sentences
from ..text import detect_language

logger = logging.getLogger(__name__)


def run(summary_id: int) -> None:
    """Produce the summary `summary_id` (and its batch). Idempotent: safe to call again.
    Raises leases.LeaseHeld when another node may still be working on it."""
    wait_s = settings.INFERENCE_BATCH_WAIT_MS / 1000
    batch = batches.claim(summary_id, settings.INFERENCE_BATCH_SIZE, wait_s)
    if not batch:
        return
    began = time.monotonic()
    interval = settings.SUMMARY_HEARTBEAT_SECONDS
    with BatchHeartbeat(leases.SUMMARY, [m.lease for m in batch], interval):
        done: set[int] = set()
        try:
            _run_batch(batch, done)
        except SoftTimeLimitExceeded:
            left = [m for m in batch if m.job.pk not in done]
            logger.warning("batch of %s: time limit; %d job(s) queued again", summary_id, len(left))
            batches.release(left)
            return
    logger.info("batch of %d done in %.2fs", len(batch), time.monotonic() - began)


def _run_batch(batch: list[batches.Member], done: set[int]) -> None:
    try:
        system, resolved = engines.serve(batch[0].job.requested_model)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # model unavailable or failing to load: every job says why
        logger.warning("batch of %d: no model: %s", len(batch), exc)
        _finish([(m, _failed(exc)) for m in batch], len(batch), done)
        return
    # One call per model that serves (a document in a language the model's encoder
    # does not read goes to the fallback) and per max_sentences (a selection setting).
    groups: dict[tuple[engines.Resolved, int], list[batches.Member]] = defaultdict(list)
    for member in batch:
        served = engines.for_language(resolved, _language(member.job.document))
        groups[(served, member.job.max_sentences)].append(member)
    for (served, max_sentences), members in groups.items():
        try:
            served_system = system if served == resolved else engines.get_system(served)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            logger.warning("batch of %d: no fallback model: %s", len(members), exc)
            _finish([(m, _failed(exc)) for m in members], len(batch), done)
            continue
        scored = zip(members, _score(served_system, members, max_sentences), strict=True)
        outcomes = [(m, f if "error" in f else _succeeded(f["result"], served)) for m, f in scored]
        _finish(outcomes, len(batch), done)


def _language(document: Any) -> str:
    """The language stored at upload, else detected now."""
    return document.language or detect_language(document.text)


def _score(system: Any, members: list[batches.Member], max_sentences: int) -> list[dict]:
    """{"result": ml Summary} or failed fields, per member: one batched call, and one
    call per document only if the batched one raises (to find the bad document)."""
    texts = [m.job.document.text for m in members]
    try:
        validate_max_sentences(max_sentences)
    except InvalidInput as exc:  # the same for every member: no call, no traceback
        return [_failed(exc) for _ in members]
    try:
        results = system.summarize(texts, max_sentences=max_sentences)
        if len(results) != len(texts):
            raise RuntimeError(f"{len(results)} summaries for {len(texts)} documents")
        return [{"result": r} for r in results]
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        if len(texts) == 1:
            logger.exception("summary %s failed", members[0].job.pk)
            return [_failed(exc)]
        logger.exception("batched call over %d documents failed; one by one", len(texts))
    out: list[dict] = []
    for member, text in zip(members, texts, strict=True):
        try:
            out.append({"result": system.summarize([text], max_sentences=max_sentences)[0]})
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            logger.exception("summary %s failed", member.job.pk)
            out.append(_failed(exc))
    return out


def _failed(exc: BaseException) -> dict[str, Any]:
    """A message of ours stands alone; anything else is named by its type."""
    ours = isinstance(exc, engines.ModelUnavailable | InvalidInput)
    error = str(exc) if ours else f"{type(exc).__name__}: {exc}"
    return {"status": JobStatus.FAILED, "error": error}


def _finish(outcomes: list[tuple[batches.Member, dict]], size: int, done: set[int]) -> None:
    """Store a group's outcomes in one transaction, each under its own lease."""
    stored = {m.job.pk for m in batches.finish(outcomes)}
    for member, fields in outcomes:
        done.add(member.job.pk)
        if member.job.pk in stored:
            job = member.job
            # One line per stored result: the fault tests count them (exactly once each).
            logger.info(
                "summary %s %s (attempt %d, batch %s of %d)",
                job.pk,
                fields["status"],
                job.attempts,
                job.batch_id,
                size,
            )


def _succeeded(result: Any, resolved: engines.Resolved) -> dict[str, Any]:
    """The Summary fields of a finished summary."""
    notes = [n for n in [resolved.note, *result.notes] if n]
    return {
        "status": JobStatus.SUCCEEDED,
        "model": resolved.kind,
        "model_version": resolved.version_label,
        "version_id": resolved.version_id,
        "sentences": [
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
        "summary_text": result.text,
        "notes": "\n".join(notes),
        "error": "",
    }
