"""JSON caches of prepared documents, keyed by a hash of the examples and the settings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar


class JsonItem(Protocol):
    def to_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=JsonItem)


def hash_examples(h: Any, examples: Iterable[Any]) -> None:
    """Feed ``Example``-like objects (id, text, reference, label overrides) to hash ``h``."""
    for ex in examples:
        labels = sorted((getattr(ex, "labels", None) or {}).items())
        h.update(json.dumps([ex.id, ex.text, getattr(ex, "reference", ""), labels]).encode())


def examples_key(settings: Any, examples: Iterable[Any], extra: bytes = b"") -> str:
    """A short hex key of ``settings`` (JSON), ``extra`` bytes, the examples and the
    sentence splitter's version (every cached preparation starts from its sentences)."""
    from ml.text import sentences  # read at call time: tests change it

    h = hashlib.sha256()
    h.update(f"splitter {sentences.SPLITTER_VERSION}\n".encode())
    h.update(json.dumps(settings, sort_keys=True).encode())
    h.update(extra)
    hash_examples(h, examples)
    return h.hexdigest()[:24]


def cached_json(
    path: Path | None, build: Callable[[], Sequence[T]], load: Callable[[dict[str, Any]], T]
) -> list[T]:
    """``build()``'s items, stored as JSON at ``path`` (None: no cache) and read back from
    there next time. Written to a temporary file and renamed: never half a cache."""
    if path is None:
        return list(build())
    if path.exists():
        return [load(d) for d in json.loads(path.read_text())]
    items = list(build())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([item.to_json() for item in items]))
    tmp.replace(path)
    return items
