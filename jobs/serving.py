"""How an inference worker sizes itself: weights shared between its processes, and
torch threads per process.

Connected to Celery's signals when the app loads (jobs.apps); the handlers act only
in a worker that consumes the inference queue. Settings: INFERENCE_PRELOAD and
INFERENCE_TORCH_THREADS (summarizer_project/settings/base.py); a process that loads a
model later sets the threads itself (jobs.engines).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery import signals
from django.conf import settings
from django.db import connections

from .messages import INFERENCE_QUEUE

logger = logging.getLogger(__name__)
_inference = False  # set in the worker's parent, inherited by its forked processes


def consumes_inference(worker: Any) -> bool:
    return INFERENCE_QUEUE in worker.app.amqp.queues.consume_from


@signals.worker_init.connect
def _before_fork(sender: Any, **_: Any) -> None:
    """In the parent: load the default model (engines.preload: a trained one with one
    torch thread, so no OpenMP pool crosses the fork; with none active the zero-label
    default and its sentence splitters); the forked processes share its pages
    copy-on-write."""
    global _inference
    _inference = consumes_inference(sender)
    if not (_inference and settings.INFERENCE_PRELOAD):
        return
    try:
        from . import engines

        resolved = engines.preload()
        logger.info("preloaded %s (%s) before forking", resolved.kind, resolved.version_label)
    except Exception:  # the processes load it on first use instead
        logger.exception("preloading the default model failed")
    finally:
        connections.close_all()  # no database connection is shared with the children


@signals.worker_process_init.connect
def _in_child(**_: Any) -> None:
    if not _inference:
        return
    from . import engines

    if "torch" in sys.modules:  # a trained model preloaded with one thread
        import torch

        torch.set_num_threads(settings.INFERENCE_TORCH_THREADS)
    logger.info(
        "inference process ready: %d torch thread(s), %s",
        settings.INFERENCE_TORCH_THREADS,
        "model preloaded" if engines.loaded() else "models load on first use",
    )
