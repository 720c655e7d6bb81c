"""devstack.restarts on real processes: a killed child comes back, a crashing one backs off."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from devstack.processes import Child, group_alive
from devstack.restarts import Backoff, Restarter, describe_exit


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_good_run():
    b = Backoff(initial=1.0, cap=5.0, reset_after=60.0)
    assert [b.next_delay(uptime=0.1) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert b.next_delay(uptime=61.0) == 1.0
    assert b.next_delay(uptime=0.1) == 2.0


def test_describe_exit_names_the_signal_or_the_code():
    assert describe_exit(-signal.SIGKILL) == "was killed by signal SIGKILL"
    assert describe_exit(3) == "exited with code 3"


def _live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (an orphan's zombie waits for
    init to reap it, which in a container may be slow)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue
        if int(pgrp) == pgid and state != "Z":
            found.append(int(stat.parent.name))
    return found


def _wait_for_members(pgid: int, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(members := _live_members(pgid)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"group {pgid} has {members}, not {count} processes")
        time.sleep(0.02)


class _Lines:
    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def _watch(children, log, tmp_path: Path, backoff) -> Restarter:
    def start(child: Child) -> None:
        child.start(dict(os.environ), tmp_path)

    for child in children:
        start(child)
    return Restarter(children, start, log, backoff)


def _poll_for(restarter: Restarter, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        restarter.poll()
        time.sleep(0.05)


def _stop(children) -> None:
    for c in children:
        if c.process is not None and group_alive(c.pid):
            os.killpg(c.pid, signal.SIGKILL)
            c.process.wait(timeout=10)
        if c.log_file is not None:
            c.log_file.close()


def test_a_killed_child_is_restarted_and_its_group_leftovers_are_killed(tmp_path):
    # The leader forks a "pool child" (sleep) as celery and gunicorn do.
    child = Child("pool", ["sh", "-c", "sleep 60 & wait"], tmp_path / "pool.log", "a pool")
    other = Child("other", ["sleep", "60"], tmp_path / "other.log", "another child")
    log = _Lines()
    restarter = _watch([child, other], log, tmp_path, lambda: Backoff(0.2, 1.0, 60.0))
    try:
        first_pid, other_pid = child.pid, other.pid
        # Until sh has forked its sleep there is no leftover for the check below to find.
        _wait_for_members(first_pid, 2, timeout=10.0)
        os.kill(first_pid, signal.SIGKILL)  # the leader only: its sleep is left in the group
        _poll_for(restarter, 1.0)
        assert child.alive() and child.pid != first_pid
        assert _live_members(first_pid) == [], "the dead leader's pool child was left running"
        assert other.alive() and other.pid == other_pid  # untouched
        assert restarter.restarts("pool") == 1 and restarter.restarts("other") == 0
        assert f"runstack: pool (pid {first_pid}) was killed by signal SIGKILL" in log.lines[0]
        assert "restarting it in 0.2s (death 1 in a row)" in log.lines[0]
        assert log.lines[1].startswith("runstack: restarted pool, pid ")
        assert (tmp_path / "pool.log").read_text().count("runstack: sh -c") == 2
    finally:
        _stop([child, other])


def test_a_child_that_keeps_crashing_backs_off_instead_of_spinning(tmp_path):
    crasher = Child("crasher", ["sh", "-c", "exit 3"], tmp_path / "c.log", "a crasher")
    log = _Lines()
    restarter = _watch([crasher], log, tmp_path, lambda: Backoff(0.2, 1.0, 60.0))
    try:
        _poll_for(restarter, 4.0)
    finally:
        _stop([crasher])
    # Delays 0.2, 0.4, 0.8, 1.0, 1.0 ...: about 5 restarts in 4 s, not one per poll (80).
    assert 3 <= restarter.restarts("crasher") <= 6, log.lines
    deaths = [line for line in log.lines if "exited with code 3" in line]
    assert "restarting it in 0.2s" in deaths[0] and "restarting it in 1.0s" in deaths[-1]


def test_a_child_that_stayed_up_starts_over_from_the_first_delay(tmp_path):
    child = Child("flaky", ["sleep", "60"], tmp_path / "f.log", "a flaky child")
    log = _Lines()
    restarter = _watch([child], log, tmp_path, lambda: Backoff(0.1, 10.0, 0.5))
    try:
        for _ in range(2):  # two quick deaths: 0.1 s, then 0.2 s
            os.killpg(child.pid, signal.SIGKILL)
            _poll_for(restarter, 0.4)
        time.sleep(0.6)  # longer than reset_after
        os.killpg(child.pid, signal.SIGKILL)
        _poll_for(restarter, 0.3)
    finally:
        _stop([child])
    delays = [
        line.split("restarting it in ")[1].split("s ")[0]
        for line in log.lines
        if "in a row" in line
    ]
    assert delays == ["0.1", "0.2", "0.1"], log.lines
