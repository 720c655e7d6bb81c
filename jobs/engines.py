"""Which ml system serves each model kind, loaded once per worker process.

Trained kinds serve their active ModelVersion; a promotion changes which
version `resolve` returns, and the next summary loads it, so workers pick up
new models without a restart. Models load lazily in the process that uses them;
on CPU the inference worker's parent preloads the default one before forking so
its processes share the weights (jobs.serving); never on CUDA, which a parent
must not touch before forking.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from .models import ModelKind, ModelVersion

_lock = threading.Lock()
_cache: dict[str, tuple[str, Any]] = {}  # kind -> (checkpoint dir, loaded system)

# Built in, nothing to train: always available by name.
BASELINES = (ModelKind.LEAD3, ModelKind.TEXTRANK, ModelKind.DEFAULT)


class ModelUnavailable(Exception):
    """The requested model kind has no trained version to serve."""


@dataclass(frozen=True)
class Resolved:
    kind: str
    version_label: str
    version_id: int | None = None
    checkpoint: str = ""
    note: str = ""


def _trained(kind: str) -> Resolved | None:
    version = ModelVersion.objects.filter(kind=kind, is_active=True).first()
    if version is not None and Path(version.checkpoint_dir).is_dir():
        return Resolved(kind, version.label, version.pk, version.checkpoint_dir)
    # An operator-provided checkpoint (e.g. the benchmark model) when none is trained here.
    if kind == ModelKind.BERTSUMEXT and settings.BERTSUMEXT_CHECKPOINT:
        path = Path(settings.BERTSUMEXT_CHECKPOINT)
        if path.is_dir():
            return Resolved(kind, f"{kind} {path.name}", None, str(path))
    return None


def _abstractive() -> Resolved | None:
    """The operator's pretrained seq2seq model (ABSTRACTIVE_MODEL), if it loads offline."""
    from ml.models.abstractive.config import is_local

    name = settings.ABSTRACTIVE_MODEL
    if not is_local(name):
        return None
    return Resolved(ModelKind.ABSTRACTIVE, f"abstractive {Path(name).name}", None, name)


def is_available(kind: str) -> bool:
    if kind == ModelKind.ABSTRACTIVE:
        return _abstractive() is not None
    return kind in BASELINES or _trained(kind) is not None


def available_kinds() -> list[str]:
    return [k for k in ModelKind.values if is_available(k)]


def resolve(requested: str) -> Resolved:
    """Map a requested kind ("" = default) to what will serve it."""
    if requested in BASELINES:
        return Resolved(requested, "builtin")
    if requested == ModelKind.ABSTRACTIVE:
        found = _abstractive()
        if found is None:
            raise ModelUnavailable(
                f"{_abstractive_missing()}; available: {', '.join(available_kinds())}"
            )
        return found
    if requested:
        found = _trained(requested)
        if found is None:
            raise ModelUnavailable(
                f"{unavailable_reason(requested)}; available: {', '.join(available_kinds())}"
            )
        return found
    found = _trained(ModelKind.BERTSUMEXT)
    if found is not None:
        return found
    kind = fallback_kind()
    return Resolved(
        kind,
        "builtin",
        note="No trained BertSumExt model is active yet; used the zero-label default.",
    )


def fallback_kind() -> str:
    """The kind that serves when the requested model cannot: no trained version is
    active, or the document is in a language its encoder does not read. The one place
    that names it."""
    return ModelKind.DEFAULT


def for_language(resolved: Resolved, language: str) -> Resolved:
    """``resolved``, or the fallback kind with a note saying why, when the checkpoint's
    encoder does not read ``language`` (measured from its tokenizer: ml.languages)."""
    if not resolved.checkpoint or resolved.kind == ModelKind.ABSTRACTIVE or not language:
        return resolved
    from ml.checkpoints import CheckpointError, read_encoder_name, read_language_coverage
    from ml.languages import describe_language

    try:
        coverage = read_language_coverage(resolved.checkpoint)
        encoder = read_encoder_name(resolved.checkpoint)
    except (CheckpointError, OSError, ValueError):
        return resolved  # not one of our model directories: nothing measured, serve it
    if coverage.reads(language):
        return resolved
    kind = fallback_kind()
    return Resolved(
        kind,
        "builtin",
        note=(
            f"The document is in {describe_language(language)}, which the encoder "
            f"{encoder!r} of {resolved.version_label} does not read "
            f"({coverage.evidence(language)}); served by the {kind} model instead."
        ),
    )


def get_system(resolved: Resolved) -> Any:
    """The ml summarizer for `resolved`, loaded on first use in this process."""
    with _lock:
        cached = _cache.get(resolved.kind)
        if cached is not None and cached[0] == resolved.checkpoint:
            return cached[1]
        system = _load(resolved)
        _cache[resolved.kind] = (resolved.checkpoint, system)  # drops the old version
        return system


def _load(resolved: Resolved, threads: int | None = None) -> Any:
    """The system; a trained one loads with ``threads`` torch threads
    (INFERENCE_TORCH_THREADS), which this process then keeps."""
    if resolved.kind == ModelKind.LEAD3:
        from ml.text.baselines import Lead

        return Lead(3)
    if resolved.kind == ModelKind.TEXTRANK:
        from ml.text.baselines import TextRank

        # Every accepted document fits in the graph, so it gets the full-graph ranking.
        return TextRank(max_graph_sentences=settings.MAX_DOCUMENT_SENTENCES)
    if resolved.kind == ModelKind.DEFAULT:
        from ml.text.zero_label import ZeroLabel

        return ZeroLabel(max_graph_sentences=settings.MAX_DOCUMENT_SENTENCES)
    if resolved.kind == ModelKind.ABSTRACTIVE:
        return _load_abstractive(resolved.checkpoint)
    if resolved.checkpoint:
        import torch

        from ml.precision import serving_precision
        from ml.registry import load_system

        torch.set_num_threads(threads or settings.INFERENCE_TORCH_THREADS)
        device, precision = settings.INFERENCE_DEVICE, settings.INFERENCE_PRECISION
        if precision == "auto":
            precision = serving_precision(device)
        return load_system(Path(resolved.checkpoint), device, precision)
    raise ModelUnavailable(f"model '{resolved.kind}' is not available")


def loaded() -> list[str]:
    """The kinds loaded in this process."""
    return list(_cache)


def preload() -> Resolved | None:
    """Load the default trained model now, with one torch thread, so no OpenMP thread
    pool crosses a fork (the inference worker's parent). None when the default is a
    baseline: nothing worth sharing, and torch is not imported."""
    resolved = resolve("")
    if not resolved.checkpoint:
        return None
    with _lock:
        _cache[resolved.kind] = (resolved.checkpoint, _load(resolved, threads=1))
    return resolved


def unavailable_reason(kind: str) -> str:
    """Why ``kind`` cannot serve now (the caller checked :func:`is_available`)."""
    if kind == ModelKind.ABSTRACTIVE:
        return _abstractive_missing()
    return f"model '{kind}' has no trained version yet"


def _abstractive_missing() -> str:
    name = settings.ABSTRACTIVE_MODEL
    if not name:
        return "model 'abstractive' is not configured: set ABSTRACTIVE_MODEL"
    return (
        f"model 'abstractive' is not available: ABSTRACTIVE_MODEL={name!r} is neither a "
        "directory nor a model in the local Hugging Face cache (nothing is downloaded)"
    )


def _load_abstractive(name: str) -> Any:
    from ml.models.abstractive.config import ConfigError, GenerationConfig
    from ml.models.abstractive.model import AbstractiveModelNotFound
    from ml.models.abstractive.summarizer import Summarizer as AbstractiveSummarizer

    try:
        config = GenerationConfig.from_dict(settings.ABSTRACTIVE_GENERATION)
        return AbstractiveSummarizer.load(name, settings.INFERENCE_DEVICE, config)
    except ConfigError as exc:
        raise ModelUnavailable(f"ABSTRACTIVE_GENERATION is invalid: {exc}") from exc
    except AbstractiveModelNotFound as exc:
        raise ModelUnavailable(str(exc)) from exc
