"""Who holds a job's lease (a Summary or a TrainingRun), so a claim can tell a dead
owner from a live one without waiting for the heartbeat to go stale.

A lease records ``"<nodename> <incarnation> <pid> <start>"`` (start: the process's
start time in clock ticks from /proc, so a pid the kernel reused for a new process
does not pass for the old owner). A worker that meets a RUNNING job whose
heartbeat is still fresh decides at once:

- same nodename, another incarnation: an earlier run of this very worker (killed
  whole and started again), so the owner is dead;
- same incarnation, the pid gone (or a zombie, or another start time): a pool
  process of this worker was killed;
- same incarnation, the process alive: the owner is working on it;
- another nodename (or no worker identity here): unknown.

The incarnation is made in the worker's main process (``worker_init``) before it
forks its pool, so every pool process of one worker run shares it. Two live
workers with one nodename break the first rule; Celery warns about such a
duplicate nodename and runstack/compose give each worker its own.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

_node = ""
_incarnation = ""


def start_incarnation(nodename: str) -> None:
    """Called once in a worker's main process before the pool starts."""
    global _node, _incarnation
    _node, _incarnation = nodename, uuid.uuid4().hex[:12]


def node() -> str:
    return _node


def me() -> str:
    """This process's owner string; empty outside a worker (nobody can judge it)."""
    if not _node:
        return ""
    pid = os.getpid()
    stat = _stat(pid)
    return f"{_node} {_incarnation} {pid} {stat[1] if stat else ''}".rstrip()


def is_dead(owner: str) -> bool | None:
    """True: the owner is gone; False: it is alive; None: this process cannot tell.

    An owner without a start time (recorded where /proc was missing, or before it
    was recorded) is judged by its pid alone."""
    parts = owner.split(" ")
    if not _node or len(parts) not in (3, 4) or parts[0] != _node or not parts[2].isdigit():
        return None
    if parts[1] != _incarnation:
        return True
    return not _alive(int(parts[2]), parts[3] if len(parts) == 4 else "")


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) from /proc/<pid>/stat; None without it (gone, or no /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 onwards
    return fields[0], fields[19]


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _stat(pid)
    if stat is None:
        return not Path("/proc/self/stat").exists()  # no /proc: kill(0)'s answer stands
    state, started = stat
    # A killed pool process the parent has not reaped yet is a zombie.
    return state != "Z" and (not start or started == start)
