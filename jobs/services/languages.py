"""Which languages a model's encoder reads, for training (refuse) and serving (engines).

A run whose training or validation documents are mostly in a language the encoder
cannot read (measured from its tokenizer: ``ml.languages``) is refused before it is
queued: it would learn from, and be judged on, text its encoder sees as noise.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Count, QuerySet

from ml.languages import LanguageCoverage, describe_language, language_name

from ..text import detect_language
from .errors import InvalidInput

# "Mostly": more than this share of a split's documents.
MAJORITY = 0.5


def encoder_coverage(config: Any) -> tuple[str, LanguageCoverage] | None:
    """``(encoder name, coverage)`` of the encoder a training config starts from: the
    checkpoint of ``init_from``, else ``model.encoder``. Measured on its tokenizer.json
    with the tokenizers library (this runs in the web process: no torch). None when
    there is nothing to measure here (the run then fails with the loader's message)."""
    from ml.encoder_names import EncoderNotFoundError
    from ml.languages import checkpoint_coverage

    try:
        if getattr(config, "init_from", None):
            directory = Path(config.init_from)
            if not (directory / "config.json").is_file():  # a run's output dir: its best/
                directory = directory / "best"
            stored = json.loads((directory / "config.json").read_text())
            coverage = checkpoint_coverage(directory)
            name = stored.get("encoder", "unknown") if isinstance(stored, dict) else "unknown"
        else:
            name = config.model.encoder
            coverage = _named_encoder_coverage(name)
    except (EncoderNotFoundError, OSError, ValueError):
        return None
    return (str(name), coverage) if coverage is not None else None


@lru_cache(maxsize=8)
def _named_encoder_coverage(name: str) -> LanguageCoverage | None:
    from ml.languages import encoder_coverage

    return encoder_coverage(name)


def language_counts(documents: QuerySet) -> Counter[str]:
    """Documents per language: the language stored at upload, detected where blank."""
    counts: Counter[str] = Counter()
    for row in documents.order_by().values("language").annotate(n=Count("pk")):
        if row["language"]:
            counts[row["language"]] += row["n"]
    for text in documents.filter(language="").values_list("text", flat=True).iterator():
        counts[detect_language(text[:5000])] += 1
    return counts


def validate_training_languages(config: Any, splits: dict[str, QuerySet]) -> None:
    """Refuse (400) when most documents of a split are in a language the encoder does
    not read; ``splits`` maps a field name (``train_split``) to its documents."""
    found = encoder_coverage(config)
    if found is None:
        return
    encoder, coverage = found
    for field, documents in splits.items():
        counts = language_counts(documents)
        total = sum(counts.values())
        unread = {lang: n for lang, n in counts.items() if not coverage.reads(lang)}
        if total and sum(unread.values()) > MAJORITY * total:
            language = max(unread, key=lambda lang: unread[lang])
            raise InvalidInput(
                f"{sum(unread.values())} of {total} documents of the {field.replace('_', ' ')} "
                f"are in {describe_language(language)}, which encoder {encoder!r} does not "
                f"read ({coverage.evidence(language)}); train on documents in "
                f"{_names(coverage)} or choose an encoder that reads {language_name(language)} "
                "(model.encoder)",
                field,
            )


def _names(coverage: LanguageCoverage) -> str:
    return ", ".join(language_name(code) for code in coverage.covered) or "no measured language"
