"""JSON Lines request bodies for batch uploads."""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class JSONLinesParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        items = []
        try:
            raw = stream.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("JSON Lines body is not valid UTF-8") from exc
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ParseError(f"line {lineno} is not valid JSON: {exc.msg}") from exc
        return items


class JSONLParser(JSONLinesParser):
    media_type = "application/jsonl"
