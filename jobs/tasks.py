"""Celery tasks: thin, take ids, idempotent; each is one call into a worker or a service.

The only module that imports ``jobs.workers``. The services send these tasks by
name (``jobs.services.queue``), so the names and queues here are the contract
with messages already in the broker: they never change.
"""

from celery import shared_task
from django.conf import settings

from .services import leases, queue
from .services.training import retrain_if_new_data as retrain
from .workers import summarize as summarize_worker
from .workers import train as train_worker


def _limits(prefix: str) -> dict[str, int]:
    """The soft and hard time limits of settings.<prefix>_[SOFT_]TIME_LIMIT."""
    return {
        "soft_time_limit": getattr(settings, f"{prefix}_SOFT_TIME_LIMIT"),
        "time_limit": getattr(settings, f"{prefix}_TIME_LIMIT"),
    }


@shared_task(name=queue.SUMMARIZE, **_limits("SUMMARY"))
def summarize(summary_id: int) -> None:
    summarize_worker.run(summary_id)


@shared_task(name=queue.REAP_STALE_JOBS, time_limit=120)
def reap_stale_jobs() -> None:
    leases.reap_stale_jobs()


@shared_task(name=queue.TRAIN, **_limits("TRAINING"))
def train(run_id: int) -> None:
    train_worker.run(run_id)


@shared_task(name=queue.RETRAIN_IF_NEW_DATA, time_limit=120)
def retrain_if_new_data(kind: str = "bertsumext") -> None:
    retrain(kind)
