"""Celery's soft time limit as a flag the training loop polls, not an exception.

The pool's parent signals the child (SIGUSR1) when a task reaches its soft limit,
and billiard's handler raises SoftTimeLimitExceeded at whatever line runs then: in
the middle of an optimizer step or of a checkpoint. While the loop trains, this
handler only sets ``reached``; the loop then checkpoints the step it is at and
returns ("paused"), and the worker continues the run in a new task. Outside the
block the usual exception stands (the worker catches it and continues from the
last checkpoint on disk).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from billiard.pool import SIG_SOFT_TIMEOUT


class SoftLimit:
    """``with SoftLimit() as limit: ... limit.reached``."""

    def __init__(self) -> None:
        self.reached = False
        self._previous: Any = None
        self._installed = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.reached = True  # nothing else: a signal handler must not take locks (logging)

    def __enter__(self) -> SoftLimit:
        # Only the main thread may set handlers; without SIGUSR1 Celery has no soft limit.
        if SIG_SOFT_TIMEOUT is not None and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(SIG_SOFT_TIMEOUT, self._on_signal)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            previous = signal.SIG_DFL if self._previous is None else self._previous
            signal.signal(SIG_SOFT_TIMEOUT, previous)
            self._installed = False
