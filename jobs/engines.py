"""Which ml system serves each model kind, loaded once per worker process.

Models load lazily in the process that uses them (never in a Celery parent
process, which must not touch CUDA before forking).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from .models import ModelKind

_lock = threading.Lock()
_cache: dict[tuple[str, str], Any] = {}


class ModelUnavailable(Exception):
    """The requested model kind has no trained version to serve."""


@dataclass(frozen=True)
class Resolved:
    kind: str
    version: str
    note: str = ""


def _checkpoint_for(kind: str) -> str:
    if kind == ModelKind.BERTSUMEXT:
        return settings.BERTSUMEXT_CHECKPOINT
    return ""


def is_available(kind: str) -> bool:
    if kind in (ModelKind.LEAD3, ModelKind.TEXTRANK):
        return True
    path = _checkpoint_for(kind)
    return bool(path) and Path(path).is_dir()


def available_kinds() -> list[str]:
    return [k for k in ModelKind.values if is_available(k)]


def resolve(requested: str) -> Resolved:
    """Map a requested kind ("" = default) to the kind and version that will serve it."""
    if requested:
        if not is_available(requested):
            raise ModelUnavailable(
                f"model '{requested}' has no trained version yet; "
                f"available: {', '.join(available_kinds())}"
            )
        return Resolved(requested, _version_label(requested))
    if is_available(ModelKind.BERTSUMEXT):
        return Resolved(ModelKind.BERTSUMEXT, _version_label(ModelKind.BERTSUMEXT))
    return Resolved(
        ModelKind.LEAD3,
        "builtin",
        note="No trained BertSumExt model is active yet; used the lead3 baseline.",
    )


def _version_label(kind: str) -> str:
    path = _checkpoint_for(kind)
    return Path(path).name if path else "builtin"


def get_system(kind: str) -> Any:
    """Return the ml summarizer for `kind`, loading it on first use in this process."""
    key = (kind, _checkpoint_for(kind))
    with _lock:
        system = _cache.get(key)
        if system is None:
            system = _load(kind)
            _cache[key] = system
        return system


def _load(kind: str) -> Any:
    if kind == ModelKind.LEAD3:
        from ml.baselines import Lead

        return Lead(3)
    if kind == ModelKind.TEXTRANK:
        from ml.baselines import TextRank

        return TextRank()
    if kind == ModelKind.BERTSUMEXT:
        from ml.inference import Summarizer

        return Summarizer.load(Path(settings.BERTSUMEXT_CHECKPOINT), settings.INFERENCE_DEVICE)
    raise ModelUnavailable(f"model '{kind}' is not available")
