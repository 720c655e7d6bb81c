"""The inference worker: produce one queued summary."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from .. import engines
from ..models import JobStatus
from ..services import leases
from ..services.summaries import summarize_text

logger = logging.getLogger(__name__)


def run(summary_id: int) -> None:
    """Produce a queued summary. Idempotent: safe to call again for the same id."""
    claimed = leases.claim(leases.SUMMARY, summary_id)
    if claimed is None:
        return
    summary, lease = claimed
    began = time.monotonic()
    try:
        result, resolved = summarize_text(
            summary.document.text, summary.requested_model, summary.max_sentences
        )
    except engines.ModelUnavailable as exc:
        _fail(summary_id, lease, str(exc))
        return
    except Exception as exc:
        logger.exception("summary %s failed", summary_id)
        _fail(summary_id, lease, f"{type(exc).__name__}: {exc}")
        return
    leases.finish(leases.SUMMARY, summary_id, lease, **_succeeded(result, resolved))
    logger.info("summary %s done in %.2fs", summary_id, time.monotonic() - began)


def _fail(summary_id: int, lease: uuid.UUID, error: str) -> None:
    leases.finish(leases.SUMMARY, summary_id, lease, status=JobStatus.FAILED, error=error)


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
