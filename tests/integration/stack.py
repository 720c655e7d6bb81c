"""A real `manage.py runstack --detach` (what `make up` runs) in a fresh var dir.

Started with a fresh shell's environment (no REDIS_URL, local settings, the
embedded Redis), on free ports of its own (web, TensorBoard, Flower), so it runs beside
a developer's `make up` and beside another test run; `stop()` runs `runstack --stop`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from devstack.processes import get_json
from tests.summarizer_project.helpers import clean_env, free_port, manage


class Stack:
    def __init__(self, **env: str):
        # Short: the embedded Redis's unix socket path must fit in 107 bytes.
        self.var_dir = Path(tempfile.mkdtemp(prefix="rs-"))
        self.port = free_port()
        ports = {
            "PORT": str(self.port),
            "TENSORBOARD_PORT": str(free_port()),
            "FLOWER_PORT": str(free_port()),
        }
        self.env = clean_env(self.var_dir, **{**ports, **env})
        self.url = f"http://127.0.0.1:{self.port}/healthz"
        # runstack's own output: --detach writes it here; a foreground run where told.
        self.output = self.var_dir / "log" / "runstack.log"

    def start(self, *flags: str) -> None:
        proc = subprocess.run(
            manage("runstack", "--detach", "--no-tensorboard", *flags),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr + self.logs()

    def stop(self) -> str:
        proc = subprocess.run(
            manage("runstack", "--stop"), env=self.env, capture_output=True, text=True, timeout=120
        )
        return proc.stdout + proc.stderr

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def state(self) -> dict:
        return json.loads((self.var_dir / "runstack.json").read_text())

    def pid(self, child: str) -> int:
        return int(self.state()["children"][child])

    def kill(self, child: str) -> int:
        """SIGKILL the child's whole process group (its leader and, e.g., celery's pool)."""
        pid = self.pid(child)
        os.killpg(pid, signal.SIGKILL)
        return pid

    def health(self) -> tuple[int, dict | None]:
        return get_json(self.url, timeout=10)

    def runstack_log(self) -> str:
        return self.output.read_text(errors="replace")

    def logs(self) -> str:
        log_dir = self.var_dir / "log"
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(log_dir.glob("*.log"))
        )

    def wait_for(self, predicate, timeout: float, what: str):
        """Poll /healthz until predicate(status, body) holds; the (status, body) then."""
        deadline = time.monotonic() + timeout
        status, body = 0, None
        while time.monotonic() < deadline:
            status, body = self.health()
            if predicate(status, body):
                return status, body
            time.sleep(0.25)
        raise AssertionError(f"{what}: not within {timeout}s; last {status} {body}\n{self.logs()}")


class Prober:
    """Asks /healthz every 0.2 s in a thread; counts the times nothing answered."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.answered = 0
        self.unanswered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            status, _ = get_json(self.stack.url, timeout=5)
            if status == 0:
                self.unanswered += 1
            else:
                self.answered += 1
