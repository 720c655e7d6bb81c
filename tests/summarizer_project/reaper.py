"""python tests/summarizer_project/reaper.py  (a JSON list of argv lists on stdin)

Runs each command as a child of this process, which is a child subreaper (Linux
prctl), so every process a command leaves behind — a daemon that double-forked,
a grandchild whose parent exited — is reparented to this process instead of
init. After each command exits, the processes still below this one are its
leftovers: reported (pid and command line), then killed. Prints one JSON object
per command: {"argv", "returncode", "stdout", "stderr", "leftovers"}.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process now (/proc/<pid>/stat)."""
    result = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        result[int(entry.name)] = (int(ppid), state)
    return result


def descendants(root: int) -> list[tuple[int, str]]:
    """(pid, state) of every process below ``root``."""
    tree = processes()
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, (ppid, _) in tree.items() if ppid in frontier]
        found += [(pid, tree[pid][1]) for pid in children]
        frontier = children
    return found


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def reap_leftovers() -> list[list]:
    """Live processes below this one (zombies are already dead), killed and reaped."""
    below = descendants(os.getpid())
    leftovers = [[pid, cmdline(pid)] for pid, state in below if state != "Z"]
    for pid, _ in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid, _ in below:
        with contextlib.suppress(ChildProcessError):  # a grandchild: its parent reaps it
            os.waitpid(pid, 0)
    return leftovers


def tail(f, size: int = 3000) -> str:
    f.seek(0)
    return f.read().decode(errors="replace")[-size:]


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(json.dumps({"error": f"prctl failed: errno {ctypes.get_errno()}"}))
        return 2
    for argv in json.load(sys.stdin):
        # Files, not pipes: a leftover holding a pipe open would make run() wait for it.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run(argv, stdout=out, stderr=err, timeout=300)
            report = {
                "argv": argv,
                "returncode": proc.returncode,
                "stdout": tail(out),
                "stderr": tail(err),
                "leftovers": reap_leftovers(),
            }
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
