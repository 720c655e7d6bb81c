"""The result types every summarizer in ``ml`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field


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
