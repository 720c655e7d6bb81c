"""Request-body parsers that apply the API's limits before and while parsing.

Every body is refused with 413 once it passes MAX_UPLOAD_BYTES (Content-Length up
front, then while reading, in chunks). JSON (one document, a list, JSON Lines) is
parsed strictly: no NaN/Infinity, no duplicate keys, no number that is not finite,
nesting up to MAX_JSON_DEPTH, and no string (value or key) a database refuses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser

from jobs.services.characters import unstorable_reason

from .errors import ApiError, BodyTooLarge
from .middleware import declared_length

CHUNK_BYTES = 64 * 1024


def check_declared_length(parser_context: dict | None) -> None:
    request = (parser_context or {}).get("request")
    length = declared_length(request.META) if request is not None else None
    if length is not None and length > settings.MAX_UPLOAD_BYTES:
        raise BodyTooLarge(length)


def read_chunks(stream) -> Iterator[bytes]:
    """The body in chunks; BodyTooLarge as soon as it passes the limit."""
    total = 0
    while stream is not None:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            return
        total += len(chunk)
        if total > settings.MAX_UPLOAD_BYTES:
            raise BodyTooLarge()
        yield chunk


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the key '{key[:50]}' appears twice in one object")
        obj[key] = value
    return obj


def _nested(path: list[str], message: str) -> dict[str, Any]:
    errors: Any = [message]
    for key in reversed(path):
        errors = {key: errors}
    return errors if isinstance(errors, dict) else {}


def check_tree(value: Any, path: list[str]) -> None:
    """Depth and storable strings, iteratively (no recursion on hostile input)."""
    limit = settings.MAX_JSON_DEPTH
    stack: list[tuple[Any, list[str], int]] = [(value, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list) and depth >= limit:
            raise ApiError(f"the JSON is nested more than {limit} levels deep (MAX_JSON_DEPTH)")
        if isinstance(node, dict):
            for key, inner in node.items():
                _check_string(key, where)
                stack.append((inner, [*where, key], depth + 1))
        elif isinstance(node, list):
            stack.extend((inner, [*where, str(i)], depth + 1) for i, inner in enumerate(node))
        elif isinstance(node, str):
            _check_string(node, where)


def _check_string(text: str, where: list[str]) -> None:
    reason = unstorable_reason(text)
    if reason:
        name = ".".join(where) or "the body"
        raise ApiError(f"{name} {reason}", _nested(where, f"this field {reason}"))


def loads(raw: bytes, path: list[str], where: str = "") -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{where}the body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        value = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique_keys
        )
    except RecursionError as exc:
        limit = settings.MAX_JSON_DEPTH
        raise ApiError(f"{where}the JSON is nested more than {limit} levels deep") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"{where}JSON parse error: {exc.msg} (column {exc.colno})") from exc
    except ValueError as exc:
        message = str(exc).split(";")[0]  # int_max_str_digits adds advice for Python users
        raise ParseError(f"{where}JSON parse error: {message}") from exc
    check_tree(value, path)
    return value


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        check_declared_length(parser_context)
        return loads(b"".join(read_chunks(stream)), [])


def _lines(stream) -> Iterator[bytes]:
    """Lines split on b"\\n" only (U+2028 or U+0085 inside a string is not a line end)."""
    pending: list[bytes] = []
    for chunk in read_chunks(stream):
        *complete, rest = chunk.split(b"\n")
        for piece in complete:
            pending.append(piece)
            yield b"".join(pending)
            pending = []
        pending.append(rest)
    if any(pending):
        yield b"".join(pending)


class JSONLinesParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        check_declared_length(parser_context)
        items: list[Any] = []
        for lineno, line in enumerate(_lines(stream), start=1):
            line = line.removesuffix(b"\r")
            if not line.strip():
                continue
            items.append(loads(line, [str(len(items))], f"line {lineno}: "))
        return items


class JSONLParser(JSONLinesParser):
    media_type = "application/jsonl"


class LimitedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_declared_length(parser_context)
        return super().parse(stream, media_type, parser_context)


class LimitedMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_declared_length(parser_context)
        return super().parse(stream, media_type, parser_context)


API_PARSERS = [JSONParser, LimitedMultiPartParser]
BATCH_PARSERS = [JSONParser, JSONLinesParser, JSONLParser]
