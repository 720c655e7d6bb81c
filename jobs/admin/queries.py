"""What the staff dashboard (Django admin) shows: its read models.

A document's sentences highlighted by the latest summary's scores with ROUGE
against its reference, a misclassified sentence in its context, a training
run's history from its TensorBoard event files, its metrics beside the
baselines, and the front page's overview. Every write is in ``jobs.services``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Count, Q, QuerySet

from ..models import (
    Document,
    JobStatus,
    LabelOverride,
    ModelVersion,
    ReviewStatus,
    RunPrediction,
    SentenceError,
    Summary,
    TrainingRun,
)
from ..services import monitoring
from ..services.schedule_status import ScheduleStatus, schedule_statuses
from ..text import rouge_of, split_sentences

logger = logging.getLogger(__name__)

ROUGE_KEYS = ("rouge1", "rouge2", "rougeLsum")


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
    overrides = dict(
        LabelOverride.objects.filter(document=document).values_list("sentence_index", "label")
    )
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


# --- a misclassified sentence in its context -------------------------------------------


@lru_cache(maxsize=256)
def _sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in split_sentences(text, language=language or None)]


def sentence_context(error: SentenceError) -> tuple[str, str, str]:
    """(previous sentence, the sentence, next sentence) from the document text."""
    text = error.document.text
    spans = _sentence_spans(text, error.document.language)
    for i, (start, end) in enumerate(spans):
        if start <= error.start < end or (start == error.start):
            before = text[spans[i - 1][0] : start].strip() if i > 0 else ""
            after = text[end : spans[i + 1][1]].strip() if i + 1 < len(spans) else ""
            return before, text[error.start : error.end], after
    # The splitter changed since the run: show the surrounding characters instead.
    before = text[max(0, error.start - 200) : error.start]
    return before.strip(), text[error.start : error.end], text[error.end : error.end + 200].strip()


# --- training runs -------------------------------------------------------------------


def run_history(run: TrainingRun) -> dict[str, list[tuple[int, float]]]:
    """Scalars the run logged to TensorBoard, tag -> [(step, value)], e.g. train/loss.

    Reads the event files in the run's logdir (all of them: a resumed run
    writes several); for a step logged twice the last value wins.
    """
    logdir = Path(run.tensorboard_logdir) if run.tensorboard_logdir else None
    if logdir is None or not logdir.is_dir():
        return {}
    files = sorted(logdir.glob("events.out.tfevents.*"))
    if not files:
        return {}
    key = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _read_scalars(str(logdir), key)


@lru_cache(maxsize=32)
def _read_scalars(logdir: str, _files_key: tuple) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(logdir, size_guidance={"scalars": 0})
    try:
        accumulator.Reload()
    except Exception:  # a half-written file from a live run: show what could be read
        logger.warning("could not read all TensorBoard events in %s", logdir, exc_info=True)
    history: dict[str, list[tuple[int, float]]] = {}
    for tag in accumulator.Tags().get("scalars", []):
        by_step = {int(e.step): float(e.value) for e in accumulator.Scalars(tag)}
        history[tag] = sorted(by_step.items())
    return history


@dataclass(frozen=True)
class MetricsRow:
    name: str  # "ROUGE-1", ...
    values: dict[str, float | None]  # column -> value
    delta_vs: dict[str, float | None]  # this run minus each other column

    @property
    def cells(self) -> list[tuple[str, str, float | None, float | None]]:
        """(column, label, value, this run minus it) in METRICS_COLUMNS order."""
        return [
            (col, label, self.values[col], self.delta_vs.get(col)) for col, label in METRICS_COLUMNS
        ]


METRICS_COLUMNS = (
    ("val", "This run"),
    ("active_val", "Active before"),
    ("lead3", "Lead-3"),
    ("textrank", "TextRank"),
)


def metrics_table(metrics: dict[str, Any]) -> list[MetricsRow]:
    """Validation ROUGE of a run beside the active version and the baselines (same data)."""
    rows = []
    for key, name in zip(ROUGE_KEYS, ("ROUGE-1", "ROUGE-2", "ROUGE-Lsum"), strict=True):
        values = {col: as_number(metrics.get(f"{col}_{key}")) for col, _ in METRICS_COLUMNS}
        rows.append(MetricsRow(name, values, _deltas(values)))
    means = {col: _mean(metrics, col) for col, _ in METRICS_COLUMNS}
    rows.append(MetricsRow("Mean", means, _deltas(means)))
    return rows


def as_number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mean(metrics: dict[str, Any], col: str) -> float | None:
    if col in ("val", "active_val") and as_number(metrics.get(f"{col}_rouge")) is not None:
        return as_number(metrics.get(f"{col}_rouge"))
    parts = [as_number(metrics.get(f"{col}_{k}")) for k in ROUGE_KEYS]
    if any(p is None for p in parts):
        return None
    return sum(p for p in parts if p is not None) / len(parts)


def _deltas(values: dict[str, float | None]) -> dict[str, float | None]:
    own = values["val"]
    return {
        col: None if own is None or other is None else own - other
        for col, other in values.items()
        if col != "val"
    }


def with_error_counts(runs: QuerySet[TrainingRun]) -> QuerySet[TrainingRun]:
    """Annotate each run with its misclassified sentences: open, flipped, in all."""
    return runs.annotate(
        open_errors=Count(
            "sentence_errors", filter=Q(sentence_errors__review_status=ReviewStatus.OPEN)
        ),
        flipped_errors=Count(
            "sentence_errors", filter=Q(sentence_errors__review_status=ReviewStatus.FLIPPED)
        ),
        all_errors=Count("sentence_errors"),
    )


def open_corrections_by_run() -> list[TrainingRun]:
    """Runs that left misclassified sentences, newest first, with their counts."""
    return list(
        with_error_counts(TrainingRun.objects.all())
        .filter(all_errors__gt=0)
        .order_by("-created_at", "-id")
    )


# --- the admin's front page ------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    active_runs: list[TrainingRun]
    active_versions: list[ModelVersion]
    open_errors: int
    failed_summaries: int
    waiting_summaries: int
    schedules: list[ScheduleStatus] = field(default_factory=list)
    queues: list[Any] = field(default_factory=list)  # monitoring.QueueDepth
    broker_error: str = ""
    workers: Any = None  # monitoring.Workers


def overview() -> Overview:
    """What needs a look: runs in progress, what serves, open reviews, failed summaries,
    queues and workers, the periodic tasks' last outcomes."""
    queues, broker_error = monitoring.queue_depths()
    return Overview(
        active_runs=list(
            TrainingRun.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).order_by(
                "created_at"
            )
        ),
        active_versions=list(ModelVersion.objects.filter(is_active=True).order_by("kind")),
        open_errors=SentenceError.objects.filter(review_status=ReviewStatus.OPEN).count(),
        failed_summaries=Summary.objects.filter(status=JobStatus.FAILED).count(),
        waiting_summaries=Summary.objects.filter(
            status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
        ).count(),
        schedules=schedule_statuses(),
        queues=queues,
        broker_error=broker_error,
        workers=monitoring.workers(broker_error),
    )
