"""Celery tasks: thin, take ids, idempotent; each is one call into a worker or a service.

The only module that imports ``jobs.workers``. The services send these tasks by
name (``jobs.messages``), so the names and queues here are the contract
with messages already in the broker: they never change.
"""

from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_ready
from django.conf import settings
from django.db import connections

from . import messages, outages
from .jobqueue import leases, owners
from .services import schedules
from .services.training import retrain_if_new_data as retrain
from .workers import summarize as summarize_worker
from .workers import train as train_worker


def _limits(prefix: str) -> dict[str, int]:
    """The soft and hard time limits of settings.<prefix>_[SOFT_]TIME_LIMIT: every task
    sets both, so none mixes its own hard limit with the global soft one."""
    return {
        "soft_time_limit": getattr(settings, f"{prefix}_SOFT_TIME_LIMIT"),
        "time_limit": getattr(settings, f"{prefix}_TIME_LIMIT"),
    }


@shared_task(bind=True, name=messages.SUMMARIZE, max_retries=None, **_limits("SUMMARY"))
def summarize(self, summary_id: int) -> None:
    try:
        summarize_worker.run(summary_id)
    except leases.LeaseHeld as held:  # its owner may be dead: look again when it can be stale
        raise self.retry(countdown=held.retry_in) from None
    except outages.DATABASE_ERRORS as exc:
        if not outages.is_database_outage(exc):
            raise  # a bug in a query: fail (and log) instead of retrying for ever
        # The database is down: nothing was stored, try again.
        raise self.retry(countdown=settings.OUTAGE_RETRY_AFTER) from None


@worker_init.connect
def _identify(sender: Any, **kwargs: Any) -> None:
    """In the worker's main process, before the pool forks: this run's lease owner id."""
    owners.start_incarnation(sender.hostname)


@worker_ready.connect
def _recover(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts sends its earlier (killed) run's jobs again at once: the
    summaries if it consumes the inference queue, the training runs if the training one."""
    queues = getattr(getattr(getattr(sender, "app", None), "amqp", None), "queues", None)
    consumed = list((queues.consume_from or {}) if queues is not None else {})
    try:
        leases.recover(consumed)
    finally:
        connections.close_all()  # the pool's next children fork from this process


def _recorded(task: Any):
    """Record the run under the PeriodicTask that sent it (django-celery-beat's
    periodic_task_name header), else under the task's name."""
    request = task.request
    header = getattr(request, "periodic_task_name", None)  # a worker: a message header
    schedule = header or (request.headers or {}).get("periodic_task_name") or task.name
    return schedules.recorded(schedule, task.name)


@shared_task(bind=True, name=messages.REAP_STALE_JOBS, **_limits("SCHEDULED"))
def reap_stale_jobs(self) -> None:
    with _recorded(self):
        leases.reap_stale_jobs()


@shared_task(name=messages.TRAIN, **_limits("TRAINING"))
def train(run_id: int) -> None:
    train_worker.run(run_id)


@shared_task(bind=True, name=messages.RETRAIN_IF_NEW_DATA, **_limits("SCHEDULED"))
def retrain_if_new_data(self, kind: str = "bertsumext") -> None:
    with _recorded(self):
        retrain(kind)
