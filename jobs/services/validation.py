"""The rules of client and operator input, each written once; each raises InvalidInput
naming the field. The API's serializers check only the JSON shape (types, unknown
fields) and leave every rule here, so a JSON document, a batch item, an upload and
``manage.py summarize`` are refused alike, with the same message."""

from __future__ import annotations

from django.conf import settings

from .. import engines
from ..models import Document, ModelKind, Split
from ..text import detect_language, split_sentences
from .characters import check_storable
from .errors import InvalidInput

# Punkt (every language but Korean) ends a sentence only at one of these or at a line
# break (ml.text.sentences), so their count plus the line breaks bounds the number of
# sentences from above. Not Kiwi's: it ends Korean sentences without punctuation.
_SENTENCE_ENDINGS = ".!?。！？…\n"
TITLE_MAX_CHARS: int = Document._meta.get_field("title").max_length
EMPTY_TEXT = "text is empty: send the document's text"


def validate_text(text: str) -> str:
    """A document's text: some character that is not whitespace, at most
    MAX_DOCUMENT_CHARS characters and MAX_DOCUMENT_SENTENCES sentences, storable."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(EMPTY_TEXT, "text")
    limit = settings.MAX_DOCUMENT_CHARS
    if len(text) > limit:
        raise InvalidInput(f"text is {len(text):,} characters; the limit is {limit:,}", "text")
    check_storable(text, "text")
    validate_sentence_count(text)
    return text


def validate_title(title: str) -> str:
    """A title of at most TITLE_MAX_CHARS characters once stripped, storable."""
    if len(title.strip()) > TITLE_MAX_CHARS:
        raise InvalidInput(
            f"title is {len(title.strip()):,} characters; the limit is {TITLE_MAX_CHARS}",
            "title",
        )
    return check_storable(title, "title")


def validate_model(model: str) -> str:
    """``model`` if it names a kind ("" = the default). No lookup: whether the kind can
    serve now is :func:`resolve_model`'s (or :func:`validate_available_model`'s)."""
    if model and model not in ModelKind.values:
        raise InvalidInput(
            f"unknown model '{model}'; choose one of: {', '.join(ModelKind.values)}", "model"
        )
    return model


def resolve_model(model: str) -> engines.Resolved:
    """What serves ``model`` now ("" = the default), in one lookup (:func:`engines.resolve`);
    a kind that cannot serve is InvalidInput naming the kinds that can."""
    try:
        return engines.resolve(validate_model(model))
    except engines.ModelUnavailable as exc:
        raise InvalidInput(str(exc), "model") from exc


def validate_available_model(model: str) -> str:
    """``model``, refused at request time when it names a kind that cannot serve now (one
    lookup). "" (the default) always serves: the worker decides which kind."""
    if model:
        resolve_model(model)
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
