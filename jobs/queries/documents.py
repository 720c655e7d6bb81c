"""A document as the dashboard shows it: its sentences highlighted by the latest
summary's scores (or a training run's) with ROUGE against its reference, and a
misclassified sentence in its context."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..models import Document, JobStatus, LabelOverride, RunPrediction, SentenceError, Summary
from ..text import anchored_labels, rouge_of, split_sentences

# --- a document and its latest summary -------------------------------------------------


@dataclass(frozen=True)
class HighlightedSentence:
    index: int
    text: str
    score: float | None
    selected: bool
    intensity: float  # 0..1: the score relative to the document's highest
    gold_label: int | None  # a staff label override, if any


@dataclass(frozen=True)
class Segment:
    """A piece of the document text: a sentence, or the text between two."""

    text: str
    sentence: HighlightedSentence | None = None


@dataclass
class DocumentView:
    summary: Summary | None
    prediction: RunPrediction | None = None  # a training run's scores, when no summary is shown
    segments: list[Segment] = field(default_factory=list)
    reference_sentences: list[str] = field(default_factory=list)
    rouge: dict[str, float] | None = None  # F1 x 100 of the selected sentences

    @property
    def selected(self) -> list[HighlightedSentence]:
        return [s.sentence for s in self.segments if s.sentence and s.sentence.selected]


def latest_summary(document: Document) -> Summary | None:
    """The newest summary that has sentences to show."""
    return (
        document.summaries.filter(status=JobStatus.SUCCEEDED)
        .select_related("version")
        .order_by("-finished_at", "-id")
        .first()
    )


def document_view(
    document: Document, summary: Summary | None = None, prediction: RunPrediction | None = None
) -> DocumentView:
    """The document text cut into sentences with scores on them: a summary's, else (a
    training document has none) the newest training run's that validated on it."""
    if summary is None and prediction is None:
        summary = latest_summary(document)
        if summary is None:
            prediction = RunPrediction.objects.filter(document=document).order_by("-id").first()
    view = DocumentView(
        summary=summary,
        prediction=prediction,
        reference_sentences=[
            line.strip() for line in document.reference_summary.splitlines() if line.strip()
        ],
    )
    source = summary.sentences if summary else prediction.sentences if prediction else []
    view.segments = highlight(document, source)
    if view.reference_sentences and any(seg.sentence for seg in view.segments):
        view.rouge = rouge_of([s.text for s in view.selected], document.reference_summary)
    return view


def highlight(document: Document, sentences: list[dict[str, Any]]) -> list[Segment]:
    """The document text cut into segments, each sentence with its score (a summary's or
    a training run's: dicts with index, start, end, score, selected)."""
    text = document.text
    sentences = sorted(sentences, key=lambda s: s["start"])
    if not sentences:
        return [Segment(text)]
    segments: list[Segment] = []
    overrides = _staff_labels(document, sentences)
    scores = [s["score"] for s in sentences if s.get("score") is not None]
    top = max(scores, default=0.0)
    bottom = min(min(scores, default=0.0), 0.0)
    span = (top - bottom) or 1.0
    position = 0
    for s in sentences:
        start, end = int(s["start"]), int(s["end"])
        if start < position or end > len(text):
            continue  # not offsets into this text (edited document): skip rather than garble
        if start > position:
            segments.append(Segment(text[position:start]))
        score = s.get("score")
        segments.append(
            Segment(
                text[start:end],
                HighlightedSentence(
                    index=s["index"],
                    text=text[start:end],
                    score=score,
                    selected=bool(s.get("selected")),
                    intensity=0.0 if score is None else (score - bottom) / span,
                    gold_label=overrides.get(s["index"]),
                ),
            )
        )
        position = end
    if position < len(text):
        segments.append(Segment(text[position:]))
    return segments


def _staff_labels(document: Document, sentences: list[dict[str, Any]]) -> dict[int, int]:
    """The staff labels by index of `sentences` (a summary's or a run's split): each on
    the sentence with its text, so a label never shows on another sentence when that
    split differs from the one it was made with (``jobs.text.anchor_labels``)."""
    rows = LabelOverride.objects.filter(document=document).values_list(
        "sentence_index", "sentence_text", "label"
    )
    texts = [""] * (max((int(s["index"]) for s in sentences), default=-1) + 1)
    for s in sentences:
        texts[int(s["index"])] = document.text[int(s["start"]) : int(s["end"])]
    return anchored_labels(texts, rows).labels


# --- a misclassified sentence in its context -------------------------------------------


@lru_cache(maxsize=256)
def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in split_sentences(text, language=language or None)]


def sentence_context(error: SentenceError) -> tuple[str, str, str]:
    """(previous sentence, the sentence, next sentence) from the document text."""
    text = error.document.text
    spans = sentence_spans(text, error.document.language)
    for i, (start, end) in enumerate(spans):
        if start <= error.start < end or (start == error.start):
            before = text[spans[i - 1][0] : start].strip() if i > 0 else ""
            after = text[end : spans[i + 1][1]].strip() if i + 1 < len(spans) else ""
            return before, text[error.start : error.end], after
    # The splitter changed since the run: show the surrounding characters instead.
    before = text[max(0, error.start - 200) : error.start]
    return before.strip(), text[error.start : error.end], text[error.end : error.end + 200].strip()
