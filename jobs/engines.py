"""Which ml system serves each model kind, loaded once per worker process.

Trained kinds serve their active ModelVersion; a promotion changes which
version `resolve` returns, and the next summary loads it, so workers pick up
new models without a restart. Models load lazily in the process that uses them;
on CPU the inference worker's parent preloads the default one (the active trained
version or, with none, the zero-label default) before forking so its processes share
the weights (jobs.serving); never on CUDA, which a parent must not touch before forking.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from ml.registry import (
    BUILTIN,
    FALLBACK_KIND,
    KINDS,
    MEASURED,
    PRETRAINED,
    ConfigError,
    Kind,
    KindUnavailable,
    ServingOptions,
)
from ml.registry import DEFAULT_KIND as DEFAULT_TRAINED_KIND

from .models import ModelVersion

_lock = threading.Lock()
_cache: dict[str, tuple[str, Any]] = {}  # kind -> (checkpoint dir, loaded system)


class ModelUnavailable(Exception):
    """The requested model kind cannot serve now (the message says why)."""


@dataclass(frozen=True)
class Resolved:
    kind: str
    version_label: str
    version_id: int | None = None
    checkpoint: str = ""  # the model a trained or pretrained kind loads ("" built in)
    note: str = ""


def _find(kind: Kind) -> Resolved | None:
    """What serves ``kind`` now, or None: a built-in kind always serves; a trained one its
    active version, else the checkpoint its setting names (operator-provided); a
    pretrained one the model its setting names, if that loads offline."""
    if kind.source == BUILTIN:
        return Resolved(kind.name, "builtin")
    if kind.trainable:
        version = ModelVersion.objects.filter(kind=kind.name, is_active=True).first()
        if version is not None and Path(version.checkpoint_dir).is_dir():
            return Resolved(kind.name, version.label, version.pk, version.checkpoint_dir)
    named = getattr(settings, kind.model_setting) if kind.model_setting else ""
    if kind.locates(named):
        return Resolved(kind.name, f"{kind.name} {Path(named).name}", None, named)
    return None


def is_available(kind: str) -> bool:
    return kind in KINDS and _find(KINDS[kind]) is not None


def available_kinds() -> list[str]:
    return [k for k in KINDS if is_available(k)]


def resolve(requested: str) -> Resolved:
    """Map a requested kind ("" = default) to what will serve it."""
    if requested:
        found = _find(KINDS[requested]) if requested in KINDS else None
        if found is None:
            raise ModelUnavailable(
                f"{unavailable_reason(requested)}; available: {', '.join(available_kinds())}"
            )
        return found
    found = _find(KINDS[DEFAULT_TRAINED_KIND])
    if found is not None:
        return found
    return Resolved(
        fallback_kind(),
        "builtin",
        note=(
            f"No trained {KINDS[DEFAULT_TRAINED_KIND].label} model is active yet; "
            "used the zero-label default."
        ),
    )


def fallback_kind() -> str:
    """The kind that serves when the requested model cannot: no trained version is
    active, or the document is in a language its encoder does not read."""
    return FALLBACK_KIND


def fallback_system() -> Any:
    """The fallback kind's system, loaded as it serves (what a training run measures a
    first version against: jobs.workers.train)."""
    return get_system(Resolved(fallback_kind(), "builtin"))


def for_language(resolved: Resolved, language: str) -> Resolved:
    """``resolved``, or the fallback kind with a note saying why, when the checkpoint's
    encoder does not read ``language`` (measured from its tokenizer: ml.languages)."""
    if not resolved.checkpoint or KINDS[resolved.kind].languages != MEASURED or not language:
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


def serve(requested: str) -> tuple[Any, Resolved]:
    """The system that serves a requested kind ("" = default) and what it is: one
    availability check (:func:`resolve` raises ModelUnavailable), then the load."""
    resolved = resolve(requested)
    return get_system(resolved), resolved


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
    kind = KINDS.get(resolved.kind)
    if kind is None or (kind.source != BUILTIN and not resolved.checkpoint):
        raise ModelUnavailable(f"model '{resolved.kind}' is not available")
    options = ServingOptions(
        device=settings.INFERENCE_DEVICE,
        precision=settings.INFERENCE_PRECISION,
        max_graph_sentences=settings.MAX_DOCUMENT_SENTENCES,
        threads=threads or settings.INFERENCE_TORCH_THREADS,
        kind_options=getattr(settings, kind.options_setting) if kind.options_setting else {},
    )
    try:
        return kind.load(resolved.checkpoint, options)
    except ConfigError as exc:
        if not kind.options_setting:
            raise
        raise ModelUnavailable(f"{kind.options_setting} is invalid: {exc}") from exc
    except KindUnavailable as exc:
        raise ModelUnavailable(str(exc)) from exc


def loaded() -> list[str]:
    """The kinds loaded in this process."""
    return list(_cache)


# What preload summarizes once with a built-in default: its first summary in each
# language loads the sentence splitter's model (Kiwi, ~5 s) and imports ROUGE's
# tokenizer (nltk, ~2 s).
WARM_UP_TEXTS = (
    "The council approved the plan. Work starts in May. It ends next year.",
    "시는 새 버스 노선을 발표했다. 주민들은 환영했다. 공사는 다음 달에 시작한다.",
)


def preload() -> Resolved:
    """Load what serves a request that names no kind (:func:`resolve`) now, so the
    inference worker's parent holds it before forking. A trained model loads with one
    torch thread, so no OpenMP thread pool crosses the fork. A built-in one (the
    zero-label default while no trained version is active) summarizes WARM_UP_TEXTS
    once, so the sentence splitters' models are loaded too; torch is not imported."""
    resolved = resolve("")
    if resolved.checkpoint:
        system = _load(resolved, threads=1)
    else:
        system = _load(resolved)
        system.summarize(list(WARM_UP_TEXTS))
    with _lock:
        _cache[resolved.kind] = (resolved.checkpoint, system)
    return resolved


def unavailable_reason(kind: str) -> str:
    """Why ``kind`` cannot serve now (the caller checked :func:`is_available`)."""
    spec = KINDS.get(kind)
    if spec is None:
        return f"unknown model '{kind}'; choose one of: {', '.join(KINDS)}"
    if spec.source == PRETRAINED:
        name = getattr(settings, spec.model_setting)
        if not name:
            return f"model '{kind}' is not configured: set {spec.model_setting}"
        return f"model '{kind}' is not available: {spec.model_setting}={name!r} {spec.missing}"
    return f"model '{kind}' has no trained version yet"
