"""Who holds a summary's lease, so a claim can tell a dead owner from a live one.

A lease records ``"<nodename> <incarnation> <pid>"``. A worker that meets a
RUNNING job whose heartbeat is still fresh then decides at once instead of
waiting for the heartbeat to go stale:

- same nodename, another incarnation: an earlier run of this very worker (killed
  and started again), so the owner is dead;
- same incarnation, the pid gone: a pool process of this worker was killed;
- same incarnation, the pid alive: the owner is working on it;
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
    return f"{_node} {_incarnation} {os.getpid()}" if _node else ""


def is_dead(owner: str) -> bool | None:
    """True: the owner is gone; False: it is alive; None: this process cannot tell."""
    parts = owner.split(" ")
    if not _node or len(parts) != 3 or parts[0] != _node or not parts[2].isdigit():
        return None
    if parts[1] != _incarnation:
        return True
    return not _alive(int(parts[2]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed pool process the parent has not reaped yet is a zombie
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc: kill(0)'s answer stands
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
