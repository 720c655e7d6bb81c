"""Request bodies the OpenAPI schema shows (Swagger's "Example Value"): a real
document instead of the random characters drf-spectacular makes up from the fields.
The same text as the README's first example."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

BAKERY = (
    "Hazel Street Bakery will switch to sourdough. The owner says yeast costs a third "
    "more than last spring. The new loaves go on sale next week."
)

DOCUMENT = OpenApiExample(
    "A document",
    value={"title": "Bakery", "text": BAKERY, "max_sentences": 2},
    request_only=True,
    media_type="application/json",
)
DOCUMENT_WITH_REFERENCE = OpenApiExample(
    "A training document",
    description="Staff with the permission to change documents only: a `split` from anyone "
    "else is refused with 403 (training data belongs to staff).",
    value={
        "title": "Bakery",
        "text": BAKERY,
        "reference_summary": "Hazel Street Bakery switches to sourdough.",
        "split": "train",
        "summarize": False,
    },
    request_only=True,
    media_type="application/json",
)
# One item: drf-spectacular shows a list serializer's example as a list of it.
BATCH = OpenApiExample(
    "A batch",
    value={"title": "Bakery", "text": BAKERY, "model": "lead3"},
    request_only=True,
    media_type="application/json",
)
SUMMARIZE = OpenApiExample(
    "Another model",
    value={"model": "textrank", "max_sentences": 2},
    request_only=True,
)
