"""`make up` (runstack --detach) and `make down` (runstack --stop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from . import embedded_redis
from .processes import (
    HOST,
    STATE_FILE,
    group_alive,
    is_runstack,
    pid_alive,
    port_in_use,
    read_state,
    running_stack,
    signal_group,
)
from .supervisor import urls_text


def refuse_if_busy(var_dir: Path, opts: dict[str, Any]) -> None:
    """A stack already running from this var/, or a port taken: say so and how to fix it."""
    state = running_stack(var_dir)
    if state:
        raise CommandError(
            f"a stack is already running from {var_dir} (pid {state['pid']}, "
            f"http://{HOST}:{state['port']}/); stop it with `make down`"
        )
    ports = [("web server", opts["port"], "PORT")]
    if not opts["no_tensorboard"]:
        ports.append(("TensorBoard", opts["tensorboard_port"], "TENSORBOARD_PORT"))
    if not opts.get("no_flower", True):
        ports.append(("Flower", settings.FLOWER_PORT, "FLOWER_PORT"))
    for what, port, var in ports:
        if port_in_use(port):
            raise CommandError(
                f"port {port} on {HOST} (for the {what}) is already in use by another "
                f"program; stop it or choose another port, e.g. `make demo {var}={port + 1}`"
            )


def foreground_argv(opts: dict[str, Any]) -> list[str]:
    """The same runstack command line without --detach."""
    argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "runstack"]
    for flag in ("port", "tensorboard_port", "web_workers", "web_threads", "inference_concurrency"):
        argv += [f"--{flag.replace('_', '-')}", str(opts[flag])]
    argv += ["--startup-timeout", str(opts["startup_timeout"]), "--grace", str(opts["grace"])]
    if opts["no_tensorboard"]:
        argv.append("--no-tensorboard")
    if opts.get("no_flower"):
        argv.append("--no-flower")
    if opts["demo"]:
        argv.append("--demo")
        if opts["no_train"]:
            argv.append("--no-train")
    return argv


def detach(var_dir: Path, opts: dict[str, Any], out) -> None:
    """Start the stack in a new session (it survives the terminal) and wait until it is ready."""
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "runstack.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            foreground_argv(opts),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    out.write(f"Starting the stack in the background (pid {proc.pid}), log {log_path}")
    deadline = time.monotonic() + opts["startup_timeout"] + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
            raise CommandError(
                f"the stack exited with code {proc.returncode} while starting; "
                f"last lines of {log_path}:\n" + "\n".join(tail)
            )
        state = read_state(var_dir)
        if state and state.get("pid") == proc.pid and state.get("ready"):
            out.write(urls_text(state["port"], state.get("tensorboard_port"), log_dir))
            out.write("Stop it with `make down`.")
            return
        time.sleep(0.5)
    raise CommandError(f"the stack did not become ready in time; see {log_path}")


def _stop_supervisor(pid: int, grace: float, out, err) -> None:
    out.write(f"Stopping the stack (pid {pid}) ...")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        err.write(f"pid {pid} did not stop; killing it")
        os.kill(pid, signal.SIGKILL)


def stop(var_dir: Path, out, err) -> None:
    """Stop a background stack, what a crashed one left over, and the embedded Redis."""
    state = read_state(var_dir)
    if state is None:
        out.write("No stack is running (no state file).")
    else:
        pid = state["pid"]
        if pid_alive(pid) and is_runstack(pid):
            _stop_supervisor(pid, float(state.get("grace", 20)), out, err)
        # The supervisor cleans up its children; after a crash or SIGKILL it cannot.
        for name, pgid in state.get("children", {}).items():
            if group_alive(pgid):
                err.write(f"{name} (process group {pgid}) was left over; killing it")
                signal_group(pgid, signal.SIGKILL)
        (var_dir / STATE_FILE).unlink(missing_ok=True)
        out.write("Stack stopped.")
    if embedded_redis.in_use() and embedded_redis.shutdown():
        out.write("Stopped the embedded Redis.")
