"""Characters a database refuses to store: NUL (PostgreSQL text and jsonb) and lone
surrogates (not encodable as UTF-8). Refused on every backend, so SQLite and
PostgreSQL answer the same."""

from __future__ import annotations

import re

from .errors import InvalidInput

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(value: str) -> str | None:
    """Why `value` cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return f"contains a lone surrogate (U+{ord(char):04X}), which is not valid Unicode text"


def check_storable(value: str, field: str) -> str:
    reason = unstorable_reason(value)
    if reason:
        raise InvalidInput(f"{field} {reason}", field)
    return value
