"""Checks of client and operator input shared by the services; each raises InvalidInput."""

from __future__ import annotations

from django.conf import settings

from .. import engines
from ..models import ModelKind, Split
from ..text import split_sentences
from .errors import InvalidInput

# Every sentence ends at one of these or at a line break (ml.text.sentences), so
# their count plus the line breaks bounds the number of sentences from above.
_SENTENCE_ENDINGS = ".!?。！？…\n"


def validate_model(model: str) -> str:
    model = (model or "").strip().lower()
    if model and model not in ModelKind.values:
        raise InvalidInput(
            f"unknown model '{model}'; choose one of: {', '.join(ModelKind.values)}", "model"
        )
    if model and not engines.is_available(model):
        raise InvalidInput(
            f"{engines.unavailable_reason(model)}; "
            f"available: {', '.join(engines.available_kinds())}",
            "model",
        )
    return model


def validate_max_sentences(n: int) -> int:
    limit = settings.MAX_SUMMARY_SENTENCES
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise InvalidInput(f"max_sentences must be an integer from 1 to {limit}", "max_sentences")
    return n


def validate_split(split: str, name: str = "split", allow_none: bool = True) -> str:
    """A dataset split; `allow_none` accepts "" (a document that is only summarized)."""
    if split not in Split.values or (not split and not allow_none):
        raise InvalidInput(f"{name} must be one of: {', '.join(Split.values[1:])}", name)
    return split


def validate_sentence_count(text: str, name: str = "text") -> None:
    """Refuse a text of more than MAX_DOCUMENT_SENTENCES sentences.

    Counted with the splitter the models use; a text whose punctuation and line
    breaks cannot reach the limit (nearly all) is not split at all.
    """
    limit = settings.MAX_DOCUMENT_SENTENCES
    bound = 1 + sum(text.count(c) for c in _SENTENCE_ENDINGS)
    if bound <= limit:
        return
    count = len(split_sentences(text))
    if count > limit:
        raise InvalidInput(f"{name} has {count:,} sentences; the limit is {limit:,}", name)
