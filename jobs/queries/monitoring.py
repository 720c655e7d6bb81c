"""Queue monitoring for the front page and GET /api/health/: queue depth per queue
(the broker's list lengths beside the database's QUEUED/RUNNING rows) and the
workers with what each is running. Read-only.

Component liveness (is a worker or beat alive) is /healthz's (jobs.api.health).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from .. import messages
from ..models import JobStatus, Summary, TrainingRun

logger = logging.getLogger(__name__)

# The Celery queues (settings.CELERY_TASK_ROUTES) and the job rows each one carries.
QUEUES: dict[str, Any] = {
    messages.INFERENCE_QUEUE: Summary,
    messages.TRAINING_QUEUE: TrainingRun,
    settings.CELERY_TASK_DEFAULT_QUEUE: None,
}
# kombu's Redis transport keeps a queue's messages of priority > 0 in sibling lists
# "<queue>\x06\x16<priority>" (its default priority steps).
PRIORITY_SUFFIXES = ("", *(f"\x06\x16{p}" for p in (3, 6, 9)))
WORKERS_CACHE_KEY = "jobs:monitoring:workers"
JOB_TASKS = {messages.SUMMARIZE: "summary", messages.TRAIN: "run"}


@dataclass(frozen=True)
class QueueDepth:
    name: str
    in_broker: int | None  # messages waiting in Redis (None: the broker did not answer)
    queued: int | None  # QUEUED rows of the job the queue carries (None: no job rows)
    running: int | None


@dataclass(frozen=True)
class ActiveTask:
    task: str
    job: str  # "summary 7", "run 3", or the task's arguments
    started_at: datetime | None


@dataclass(frozen=True)
class WorkerState:
    name: str
    active: list[ActiveTask] = field(default_factory=list)


@dataclass(frozen=True)
class Workers:
    workers: list[WorkerState]
    error: str = ""  # why the list may be incomplete (broker down, no reply)
    checked_at: datetime | None = None


def _broker_lengths() -> dict[str, int]:
    with current_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        client = conn.default_channel.client
        return {q: sum(client.llen(q + s) for s in PRIORITY_SUFFIXES) for q in QUEUES}


def queue_depths() -> tuple[list[QueueDepth], str]:
    """Each queue's depth in the broker and in the database; the error if Redis is down."""
    error = ""
    try:
        lengths: dict[str, int] = _broker_lengths()
    except Exception as exc:
        lengths, error = {}, f"broker down: {type(exc).__name__}: {exc}"
    depths = []
    for name, model in QUEUES.items():
        counts: dict[str, int] = {}
        if model is not None:
            counts = dict(
                model.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
                .values_list("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            )
        depths.append(
            QueueDepth(
                name,
                lengths.get(name),
                None if model is None else counts.get(JobStatus.QUEUED, 0),
                None if model is None else counts.get(JobStatus.RUNNING, 0),
            )
        )
    return depths, error


def _job_of(task: dict[str, Any]) -> str:
    noun = JOB_TASKS.get(task.get("name", ""))
    args = task.get("args") or []
    if noun and args:
        return f"{noun} {args[0]}"
    return ", ".join(str(a) for a in args) or "–"


def _started(task: dict[str, Any]) -> datetime | None:
    start = task.get("time_start")
    if not isinstance(start, int | float):
        return None
    return datetime.fromtimestamp(start, tz=timezone.get_current_timezone())


def _inspect_workers() -> Workers:
    now = timezone.now()
    try:
        replies = (
            current_app.control.inspect(timeout=settings.MONITORING_INSPECT_TIMEOUT).active() or {}
        )
    except Exception as exc:
        return Workers([], f"broker down: {type(exc).__name__}: {exc}", now)
    workers = [
        WorkerState(
            name,
            [ActiveTask(t.get("name", "?"), _job_of(t), _started(t)) for t in tasks or []],
        )
        for name, tasks in sorted(replies.items())
    ]
    error = "" if workers else "no worker answered"
    return Workers(workers, error, now)


def workers(broker_error: str = "") -> Workers:
    """Celery workers and their current tasks (inspect, cached MONITORING_CACHE_SECONDS
    so a busy front page does not broadcast to every worker on each load). Not asked
    when `broker_error` says the broker is down (inspect would retry for seconds)."""
    if broker_error:
        return Workers([], f"not asked: {broker_error}", timezone.now())
    try:  # the cache is Redis too: with the broker down, ask (and fail) uncached
        found = cache.get(WORKERS_CACHE_KEY)
    except Exception:
        return _inspect_workers()
    if found is None:
        found = _inspect_workers()
        with contextlib.suppress(Exception):
            cache.set(WORKERS_CACHE_KEY, found, settings.MONITORING_CACHE_SECONDS)
    return found


def running_jobs(limit: int = 20) -> list[dict[str, Any]]:
    """RUNNING rows, oldest first, with their last heartbeat: what the database says
    is in progress (a job whose heartbeat stopped is the reaper's)."""
    rows: list[dict[str, Any]] = []
    for noun, model in (("summary", Summary), ("run", TrainingRun)):
        for job in model.objects.filter(status=JobStatus.RUNNING).order_by("started_at")[:limit]:
            rows.append(
                {
                    "job": f"{noun} {job.pk}",
                    "attempts": job.attempts,
                    "started_at": job.started_at,
                    "heartbeat_at": job.heartbeat_at,
                }
            )
    return rows


def details() -> dict[str, Any]:
    """Everything above as plain data (the API's health details)."""
    depths, broker_error = queue_depths()
    found = workers(broker_error)
    return {
        "queues": [asdict(d) for d in depths],
        "broker_error": broker_error,
        "workers": [asdict(w) for w in found.workers],
        "workers_error": found.error,
        "workers_checked_at": found.checked_at,
        "running": running_jobs(),
    }
