"""Run manage.py / python in subprocesses with REDIS_URL unset and a temp var dir."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAPER = Path(__file__).with_name("reaper.py")
# Set by the test run itself (test settings, pytest-django) or by CI.
DROPPED = ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell in the checkout: no REDIS_URL, var/ = var_dir."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update({"SUMMARIZER_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1", **extra})
    return env


def free_port() -> int:
    """A TCP port no one listens on now: each test stack takes its own, so the suite runs
    beside a developer's `make up` (8000, 6006, 5555) and beside another suite run."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_reaped(commands: list[list[str]], env: dict[str, str]) -> list[dict]:
    """Run each command under tests/summarizer_project/reaper.py; its reports, in order."""
    proc = subprocess.run(
        [sys.executable, str(REAPER)],
        input=json.dumps(commands),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def redis_servers_under(path: Path) -> list[str]:
    """Command lines of live redis-server processes whose socket lies under ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmd and str(path) in cmd:
            found.append(cmd)
    return found
