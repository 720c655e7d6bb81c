"""Restarting runstack's children: exponential backoff with a cap, reset after a good run.

The supervisor's watch thread calls ``Restarter.poll`` twice a second. A child
found dead gets a log line naming it and its exit code or signal, its process
group is killed (a celery pool child or gunicorn worker whose parent died must
not linger), and it is started again once its delay has passed. Other children
are untouched, so web keeps serving while a worker is down.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from .processes import Child, signal_group


@dataclass
class Backoff:
    """Delay before the next start: ``initial`` doubled per death in a row, at most
    ``cap``; a child that stayed up ``reset_after`` seconds starts over."""

    initial: float
    cap: float
    reset_after: float
    deaths: int = 0  # in a row

    def next_delay(self, uptime: float) -> float:
        if uptime >= self.reset_after:
            self.deaths = 0
        delay = min(self.cap, self.initial * 2**self.deaths)
        self.deaths += 1
        return delay


def describe_exit(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"was killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class _Watch:
    backoff: Backoff
    started_at: float
    restart_at: float | None = None  # set while dead and waiting
    restarts: int = 0


class Restarter:
    """Watches ``children``; ``start(child)`` starts one again (the caller knows how)."""

    def __init__(
        self,
        children: list[Child],
        start: Callable[[Child], None],
        log: Callable[[str], None],
        backoff: Callable[[], Backoff],
    ):
        self.children = children
        self.start = start
        self.log = log
        now = time.monotonic()
        self.watches = {c.name: _Watch(backoff(), now) for c in children}

    def restarts(self, name: str) -> int:
        return self.watches[name].restarts

    def poll(self) -> bool:
        """Handle deaths and due restarts; True when a child was started again."""
        started = False
        for child in self.children:
            watch = self.watches[child.name]
            if child.alive():
                continue
            now = time.monotonic()
            if watch.restart_at is None:
                self._noticed_death(child, watch, now)
            elif now >= watch.restart_at:
                self._restart(child, watch)
                started = True
        return started

    def _noticed_death(self, child: Child, watch: _Watch, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        signal_group(child.pid, signal.SIGKILL)  # what the dead leader left in its group
        if child.log_file is not None:
            child.log_file.close()
            child.log_file = None
        delay = watch.backoff.next_delay(now - watch.started_at)
        watch.restart_at = now + delay
        self.log(
            f"runstack: {child.name} (pid {child.pid}) {describe_exit(code)} after "
            f"{now - watch.started_at:.1f}s; restarting it in {delay:.1f}s "
            f"(death {watch.backoff.deaths} in a row); see {child.log_path}"
        )

    def _restart(self, child: Child, watch: _Watch) -> None:
        try:
            self.start(child)
        except Exception as exc:  # e.g. the embedded Redis did not answer: try again later
            delay = watch.backoff.next_delay(0.0)
            watch.restart_at = time.monotonic() + delay
            self.log(f"runstack: restarting {child.name} failed ({exc}); next try in {delay:.1f}s")
            return
        watch.restart_at = None
        watch.started_at = time.monotonic()
        watch.restarts += 1
        self.log(f"runstack: restarted {child.name}, pid {child.pid} (restart {watch.restarts})")
