"""The real stack for the serving benchmarks: ``manage.py runstack --detach`` (what
``make up`` runs) in a var dir of its own, and its processes' memory and CPU from /proc.

Memory per process group (a child of runstack and the processes it forked): RSS counts
pages shared between processes once per process; PSS divides each shared page among
the processes that map it, so the sum of PSS is what the group really costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import ROOT

TICKS = os.sysconf("SC_CLK_TCK")


def group_pids(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            pids.append(int(entry.name))
    return pids


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB, from /proc/PID/smaps_rollup; (0, 0) once gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process and of its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS


@dataclass
class Stack:
    """One runstack in ``var_dir`` on ``port``, with ``env`` on top of this environment."""

    var_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def environ(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "summarizer_project.settings.local",
            "SUMMARIZER_VAR_DIR": str(self.var_dir.resolve()),
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }

    def manage(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def run_db(self, *args: str, timeout: float = 900) -> dict:
        """``python -m bench.serve_db ARGS`` against this stack's database; its JSON."""
        done = subprocess.run(
            [sys.executable, "-m", "bench.serve_db", *args],
            cwd=ROOT,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"bench.serve_db {args[0]} failed:\n{done.stderr[-3000:]}")
        result: dict = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        port = str(self.port)
        self.manage("runstack", "--detach", "--no-tensorboard", "--port", port, *self.flags)

    def stop(self) -> None:
        self.manage("runstack", "--stop", timeout=120)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def groups(self) -> dict[str, int]:
        """Child name -> process group, from runstack's state file."""
        state = json.loads((self.var_dir / "runstack.json").read_text())
        return dict(state["children"])

    def cpu(self, name: str) -> float:
        return sum(cpu_seconds(p) for p in group_pids(self.groups()[name]))

    def memory(self, name: str) -> tuple[int, int, int]:
        """(processes, RSS KiB, PSS KiB) of child ``name``'s group now."""
        pids = group_pids(self.groups()[name])
        mem = [memory_kb(p) for p in pids]
        return len(pids), sum(m[0] for m in mem), sum(m[1] for m in mem)


class PeakMemory:
    """Samples the groups' RSS and PSS every ``every`` seconds; keeps the peaks (MiB)."""

    def __init__(self, stack: Stack, names: tuple[str, ...], every: float = 0.5) -> None:
        self.stack, self.names, self.every = stack, names, every
        self.peak: dict[str, dict[str, float]] = {n: {"rss": 0.0, "pss": 0.0} for n in names}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in self.names:
                _, rss, pss = self.stack.memory(name)
                peak = self.peak[name]
                peak["rss"] = max(peak["rss"], rss / 1024)
                peak["pss"] = max(peak["pss"], pss / 1024)
            time.sleep(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
