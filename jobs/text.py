"""The ml text helpers the app uses: sentence splitting, language, ROUGE; and where a
stored staff label applies when the splitting changed (``anchor_labels``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ml.text.sentences import detect_language, split_sentences

__all__ = [
    "AnchoredLabels",
    "anchor_labels",
    "anchored_labels",
    "detect_language",
    "normalized",
    "rouge_of",
    "split_sentences",
]


def rouge_of(selected: list[str], reference: str) -> dict[str, float]:
    """ROUGE F1 x 100 of the selected sentences against a reference summary."""
    from ml.text.rouge import score_summary

    return score_summary(selected, reference)


def normalized(text: str) -> str:
    """A sentence's text with runs of whitespace as one space (how labels compare)."""
    return " ".join(text.split())


def anchor_labels(sentences: Sequence[str], rows: Iterable[tuple[int, str]]) -> list[int | None]:
    """Where stored staff labels apply in a document split into ``sentences`` now.

    Each row is a label's (sentence index, sentence text) as stored when it was made.
    Its sentence is the one at that index while the texts agree (whitespace-normalized);
    when the splitting changed (a new ``SPLITTER_VERSION``, a library upgrade, another
    language) it is the one sentence with that text, and ``None`` (left out) when no
    sentence or several have it, or another label already holds that sentence. A label
    stored without text (made before texts were kept) applies by index, as it always did.
    Returns each row's index now, in the rows' order.
    """
    rows = list(rows)
    texts = [normalized(s) for s in sentences]
    where: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        where.setdefault(text, []).append(i)
    targets: list[int | None] = [None] * len(rows)
    taken: set[int] = set()
    for n, (index, text) in enumerate(rows):  # in place first: they keep their sentence
        if not text or (index < len(texts) and texts[index] == normalized(text)):
            targets[n] = index
            taken.add(index)
    for n, (_, text) in enumerate(rows):
        matches = where.get(normalized(text), []) if text and targets[n] is None else []
        if len(matches) == 1 and matches[0] not in taken:
            targets[n] = matches[0]
            taken.add(matches[0])
    return targets


@dataclass(frozen=True)
class AnchoredLabels:
    """Stored labels applied to a document's sentences now (see ``anchor_labels``)."""

    labels: dict[int, int]  # sentence index now -> label
    moved: list[tuple[int, int]] = field(default_factory=list)  # (stored index, index now)
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (stored index, text)


def anchored_labels(
    sentences: Sequence[str], rows: Iterable[tuple[int, str, int]]
) -> AnchoredLabels:
    """``anchor_labels`` for (index, text, label) rows: the labels by index now, the
    labels that moved to another index and the ones left out."""
    rows = list(rows)
    result = AnchoredLabels({})
    targets = anchor_labels(sentences, [(index, text) for index, text, _ in rows])
    for (index, text, label), target in zip(rows, targets, strict=True):
        if target is None:
            result.dropped.append((index, text))
            continue
        result.labels[target] = label
        if target != index:
            result.moved.append((index, target))
    return result
