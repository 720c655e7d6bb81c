"""Messages to the workers: sent by task name, on commit.

The names are the ones the tasks in ``jobs.tasks`` are registered under (and
that messages already in the broker carry), so they never change. Sending by
name keeps the models, the job protocol and the write layer free of the task
modules; the queues are the ones CELERY_TASK_ROUTES gives these names. This module
imports no model, so the models (``LeasedJob.enqueue``) can send.

A message is sent only once the transaction commits, so a rolled-back request
never leaves a message for a row that does not exist.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import current_app
from django.db import transaction

from .outages import BROKER_ERRORS

logger = logging.getLogger(__name__)

SUMMARIZE = "jobs.summarize"
TRAIN = "jobs.train"
REAP_STALE_JOBS = "jobs.reap_stale_jobs"
RETRAIN_IF_NEW_DATA = "jobs.retrain_if_new_data"

INFERENCE_QUEUE = "inference"
TRAINING_QUEUE = "training"
QUEUES = {SUMMARIZE: INFERENCE_QUEUE, TRAIN: TRAINING_QUEUE}


def enqueue_on_commit(task_name: str, *args: object) -> None:
    """Send `task_name(*args)` to its queue once the current transaction commits."""
    options: dict[str, object] = {"queue": QUEUES[task_name]} if task_name in QUEUES else {}
    # No time limits in the message: Celery 5.7's send_task would otherwise copy the
    # sender's own (the web's settings, where it has the task registered), and a
    # message's limits override the worker's, whose settings must decide them.
    options.update(time_limit=None, soft_time_limit=None)
    transaction.on_commit(partial(_send, task_name, list(args), options))


def _send(task_name: str, args: list, options: dict) -> None:
    """Send after the commit. The row is stored and QUEUED whatever happens here, so a
    broker that is down loses nothing: the reaper sends the message again once the row
    has waited QUEUED_REENQUEUE_AFTER (jobs.jobqueue.leases.reap), and the request still
    succeeds."""
    try:
        current_app.send_task(task_name, args=args, **options)
    except BROKER_ERRORS as exc:
        logger.warning(
            "%s%s not sent (broker down: %s); the reaper resends it", task_name, args, exc
        )
