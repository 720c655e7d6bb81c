"""Celery tasks: thin, take ids, idempotent; each is one call into services."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(
    name="jobs.summarize",
    soft_time_limit=settings.SUMMARY_SOFT_TIME_LIMIT,
    time_limit=settings.SUMMARY_TIME_LIMIT,
)
def summarize(summary_id: int) -> None:
    services.run_summary(summary_id)


@shared_task(name="jobs.reap_stale_jobs", time_limit=120)
def reap_stale_jobs() -> None:
    services.reap_stale_jobs()


@shared_task(
    name="jobs.train",
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_TIME_LIMIT,
)
def train(run_id: int) -> None:
    services.run_training(run_id)


@shared_task(name="jobs.retrain_if_new_data", time_limit=120)
def retrain_if_new_data(kind: str = "bertsumext") -> None:
    services.retrain_if_new_data(kind)
