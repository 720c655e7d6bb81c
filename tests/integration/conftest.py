"""A real `celery worker` process on the real broker and the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    """The URL of the test database this process created, for the worker to use."""
    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


def _wait_for_worker(app, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("celery worker did not answer a ping in time")


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start `celery -A summarizer_project worker` on the inference and default queues."""
    from summarizer_project.celery import app

    # Drop messages an earlier (killed) run may have left on the test queues.
    with app.connection_for_write() as conn:
        for queue in ("inference", "default", "training"):
            conn.default_channel.queue_purge(queue)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "summarizer_project.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "summarizer_project",
                "worker",
                "-Q",
                "inference,default",
                "-c",
                "1",
                "--loglevel",
                "INFO",
                "-n",
                f"test-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_worker(app, proc)
        yield proc
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}; worker log:\n{log.read_text()}") from exc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
