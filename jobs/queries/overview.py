"""The admin's front page: what needs a look now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import JobStatus, ModelVersion, ReviewStatus, SentenceError, Summary, TrainingRun
from . import monitoring
from .schedule_status import ScheduleStatus, schedule_statuses


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
