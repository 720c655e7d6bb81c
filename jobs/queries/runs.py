"""A training run as the dashboard and the API show it: its history from its
TensorBoard event files, its metrics beside the active version and the baselines,
its misclassified sentences, and the link to its TensorBoard page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from ml.registry import FALLBACK_KIND, KINDS

from ..models import ReviewStatus, TrainingRun

logger = logging.getLogger(__name__)

ROUGE_KEYS = ("rouge1", "rouge2", "rougeLsum")


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
    # What serves while no version is active (the gate's bar for a first version).
    ("fallback", KINDS[FALLBACK_KIND].label),
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


def tensorboard_url(run: TrainingRun, request: Any = None, dashboard: str = "timeseries") -> str:
    """TensorBoard, through the admin's staff-only proxy (jobs.admin.tensorboard),
    filtered to one run.

    The run's logdir is run-<id> under TENSORBOARD_LOGDIR; runFilter is a regular
    expression, anchored so that run-1 does not also show run-10..19. ``dashboard``:
    timeseries, or projector (its own run menu: the filter does not apply there).
    """
    base = reverse("admin:jobs_trainingrun_tensorboard")
    url = f"{base}?runFilter=%5Erun-{run.pk}%24#{dashboard}"
    return request.build_absolute_uri(url) if request is not None else url
