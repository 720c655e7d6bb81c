"""Checks of client and operator input shared by the services; each raises InvalidInput."""

from __future__ import annotations

from django.conf import settings

from .. import engines
from ..models import ModelKind, Split
from ..text import detect_language, split_sentences
from .errors import InvalidInput

# Punkt (every language but Korean) ends a sentence only at one of these or at a line
# break (ml.text.sentences), so their count plus the line breaks bounds the number of
# sentences from above. Not Kiwi's: it ends Korean sentences without punctuation.
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

    Counted with the splitter the models use; a text whose upper bound
    (:func:`_sentence_bound`) cannot reach the limit is not split at all: nearly every
    text but Korean ones of more non-whitespace characters than the limit.
    """
    limit = settings.MAX_DOCUMENT_SENTENCES
    if _sentence_bound(text) <= limit:
        return
    count = len(split_sentences(text))
    if count > limit:
        raise InvalidInput(f"{name} has {count:,} sentences; the limit is {limit:,}", name)


def _sentence_bound(text: str) -> int:
    """At least ``len(split_sentences(text))``, in one pass over the text.

    Punkt's sentences end at punctuation or a line break. Kiwi (Hangul-dominant text)
    ends a sentence at a Korean sentence ending without any punctuation, also inside a
    run without spaces ("고양이는귀엽다강아지는..."), and a sentence may be one
    syllable ("돼 돼 돼" is three); what holds for any splitter is that sentences are
    disjoint, stripped and not empty, so there are at most as many as non-whitespace
    characters.
    """
    if detect_language(text) == "ko":
        return sum(map(len, text.split()))
    return 1 + sum(text.count(c) for c in _SENTENCE_ENDINGS)
