"""Processes of the one-machine stack: children, signals, the state file, HTTP probes.

Shared by the foreground supervisor and by --detach / --stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HOST = "127.0.0.1"
STATE_FILE = "runstack.json"


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    what: str  # for error messages: "the Celery inference worker"
    process: subprocess.Popen | None = None
    log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def open_log(self) -> IO[bytes]:
        """Append to the child's log, after a line saying what runs."""
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop_children)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self.log_file.write(f"\n=== {stamp} runstack: {' '.join(self.argv)}\n".encode())
        self.log_file.flush()
        return self.log_file

    def start(self, env: dict[str, str], cwd: Path) -> None:
        # Its own process group: Ctrl-C reaches only the supervisor, which then
        # stops the children in order; killpg also reaches their worker processes.
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self.open_log(),
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            process_group=0,
        )


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _exists(kill: Callable[[int, int], None], ident: int) -> bool:
    """Signal 0 through ``kill``: whether the process (group) exists, even if not ours."""
    try:
        kill(ident, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_alive(pid: int) -> bool:
    return _exists(os.kill, pid)


def group_alive(pgid: int) -> bool:
    return _exists(os.killpg, pgid)


def is_runstack(pid: int) -> bool:
    """Guard against pid reuse before signalling a pid read from the state file."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)  # no /proc (macOS): trust the state file
    return b"runstack" in cmdline


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def read_state(var_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((var_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_state(var_dir: Path, state: dict[str, Any]) -> None:
    tmp = var_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    tmp.replace(var_dir / STATE_FILE)


def running_stack(var_dir: Path) -> dict[str, Any] | None:
    state = read_state(var_dir)
    if state and pid_alive(state["pid"]) and is_runstack(state["pid"]):
        return state
    return None


def get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, _parse(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _parse(exc.read())
    except (urllib.error.URLError, OSError):
        return 0, None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def stop_children(children: list[Child], grace: float, out, err) -> None:
    """SIGTERM every child's group (last started first), wait up to ``grace`` seconds,
    SIGKILL what is left, reap every leader; no orphans."""
    out.write("Stopping: " + ", ".join(c.name for c in children))
    began = time.monotonic()
    for c in reversed(children):  # web and TensorBoard first, workers, then Redis
        if c.alive():
            signal_group(c.pid, signal.SIGTERM)
    stopped_after: dict[str, float] = {}
    deadline = began + grace
    while time.monotonic() < deadline and len(stopped_after) < len(children):
        for c in children:
            if c.process is not None:
                c.process.poll()  # reap the leader, or the group stays alive as a zombie
            if c.name not in stopped_after and not group_alive(c.pid):
                stopped_after[c.name] = time.monotonic() - began
        time.sleep(0.1)
    for c in children:
        if group_alive(c.pid):
            err.write(f"{c.name} did not stop within {grace:.0f}s; killing it")
            signal_group(c.pid, signal.SIGKILL)
    for c in children:
        if c.process is not None:
            try:
                c.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                err.write(f"{c.name} (pid {c.pid}) could not be reaped")
        if c.log_file is not None:
            c.log_file.close()
    times = ", ".join(f"{name} {t:.1f}s" for name, t in stopped_after.items())
    out.write(f"All children stopped in {time.monotonic() - began:.1f}s ({times}).")
