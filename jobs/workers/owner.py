"""Which worker process holds a job's lease, and whether that process is gone.

A redelivered training task (the pool process running it was SIGKILLed or ran out of
memory; Celery requeues it) would otherwise find the run RUNNING with a fresh
heartbeat and drop it as a live lease, leaving it to the reaper minutes later. The
owner is ``host:pid:start`` (start: the process's start time in clock ticks, from
/proc), so a pid reused by a new process does not pass for the old owner.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc/<pid>/stat; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 onwards
    return fields[0], fields[19]


def _alive_without_proc(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def this_process() -> str:
    pid = os.getpid()
    stat = _stat(pid)
    return f"{socket.gethostname()}:{pid}:{stat[1] if stat else ''}"


def is_dead(owner: str) -> bool:
    """Whether ``owner`` (from this_process) has certainly stopped running the job.

    Only a process on this host can be checked; one elsewhere counts as alive (the
    reaper finds it by its stale heartbeat). This process itself counts as dead: a
    training worker runs one task at a time, so an earlier task of it left the lease.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid, start = int(parts[1]), parts[2]
    if pid == os.getpid():
        return True
    if not Path("/proc/self/stat").exists():
        return not _alive_without_proc(pid)
    stat = _stat(pid)
    return stat is None or stat[0] == "Z" or (bool(start) and stat[1] != start)
