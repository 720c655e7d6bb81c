"""The result types every summarizer in ``ml`` returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ml.text.sentences import Span


@dataclass(frozen=True)
class ScoredSentence:
    """One sentence of the source text with its model score.

    ``start``/``end`` are character offsets into the original text, so
    ``text[start:end] == sentence.text`` always holds.
    """

    index: int
    text: str
    start: int
    end: int
    score: float
    selected: bool


@dataclass
class Summary:
    """An extractive summary: every sentence of the document, in document order."""

    sentences: list[ScoredSentence]
    system: str
    notes: list[str] = field(default_factory=list)

    @property
    def selected(self) -> list[ScoredSentence]:
        return [s for s in self.sentences if s.selected]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.selected)

    @property
    def summary_sentences(self) -> list[str]:
        """The summary's sentences (ROUGE-Lsum joins them with newlines)."""
        return [s.text for s in self.selected]


@dataclass
class GeneratedSummary:
    """An abstractive summary: generated text, so no sentence of the source is scored,
    selected or has offsets (``sentences`` and ``selected`` are empty)."""

    text: str
    system: str
    summary_sentences: list[str]  # the generated text split into sentences
    notes: list[str] = field(default_factory=list)

    @property
    def sentences(self) -> list[ScoredSentence]:
        return []

    @property
    def selected(self) -> list[ScoredSentence]:
        return []


def summary_of(
    text: str,
    spans: Sequence[tuple[int, int]],
    scores: Sequence[float | None],
    chosen: set[int],
    system: str,
    notes: list[str],
) -> Summary:
    """Every sentence ``text[start:end]`` of ``spans`` with its score (None: 0.0), the
    ``chosen`` ones selected."""
    sentences = [
        ScoredSentence(
            index=i,
            text=text[s:e],
            start=s,
            end=e,
            score=float(scores[i] or 0.0),
            selected=i in chosen,
        )
        for i, (s, e) in enumerate(spans)
    ]
    return Summary(sentences=sentences, system=system, notes=notes)


def build_summary(
    spans: Sequence[Span], scores: Sequence[float], selected: set[int], system: str
) -> Summary:
    """A Summary of all ``spans`` in document order with their scores and selection."""
    sentences = [
        ScoredSentence(
            index=i,
            text=span.text,
            start=span.start,
            end=span.end,
            score=float(score),
            selected=i in selected,
        )
        for i, (span, score) in enumerate(zip(spans, scores, strict=True))
    ]
    notes = [] if spans else ["the text has no sentences"]
    return Summary(sentences=sentences, system=system, notes=notes)
