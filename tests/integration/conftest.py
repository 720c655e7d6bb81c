"""A real `celery worker` process on the real broker and the test database."""

from __future__ import annotations

import contextlib
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
    if connection.vendor == "sqlite":
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


def test_budget(config: pytest.Config) -> float:
    """Seconds a test's waits may take in all: pytest-timeout's limit less a minute, so
    a wait that runs out fails with the worker logs instead of being killed first."""
    timeout = config.getoption("timeout", default=None) or config.getini("timeout") or 600
    return float(timeout) - 60


class WorkerPool:
    """Starts real `celery worker` processes and stops (or kills) them."""

    def __init__(self, tmp_path: Path, budget: float = 540):
        from summarizer_project.celery import app

        self.app = app
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []
        self.deadline = time.monotonic() + budget

    def wait_for(self, predicate, timeout: float, what: str):
        """Poll until predicate() is truthy and return it; at most `timeout` seconds and
        never past the test's budget, else fail with the worker logs."""
        end = min(time.monotonic() + timeout, self.deadline)
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def start(self, queues: str = "inference,default", **env_extra: str) -> subprocess.Popen:
        n = len(self.procs)
        argv = [
            *("-m", "celery", "-A", "summarizer_project", "worker", "-Q", queues, "-c", "1"),
            *("--loglevel", "INFO", "-n", f"test-{os.getpid()}-{n}@%h"),
            *("--without-gossip", "--without-mingle"),
        ]
        return self.start_command(f"worker-{n}", [sys.executable, *argv], **env_extra)

    def start_command(
        self, name: str, argv: list[str], ping: bool = True, **env_extra: str
    ) -> subprocess.Popen:
        """Start `argv` (a worker unless ping=False) on the test database and broker;
        its output goes to <tmp_path>/<name>.log."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "summarizer_project.settings.test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            "SUMMARIZER_TEST_CHILD": "1",  # pinned settings come from env_extra (hermetic.py)
            # The state directories this test uses, as every process of a deployment shares
            # them: the database stores run and checkpoint paths relative to them.
            "TRAINING_DIR": str(settings.TRAINING_DIR),
            "TENSORBOARD_LOGDIR": str(settings.TENSORBOARD_LOGDIR),
            **env_extra,
        }
        log = self.tmp_path / f"{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        if ping:
            try:
                _wait_for_worker(self.app, proc)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; log:\n{log.read_text()}") from exc
        return proc

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text()[-5000:]}"
            for p in sorted(self.tmp_path.glob("*.log"))
        )

    @staticmethod
    def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal the worker's whole process group (parent and pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.kill(proc)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, for fixtures to see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def workers(transactional_db, tmp_path, request):
    pool = WorkerPool(tmp_path, test_budget(request.config))
    # Drop messages an earlier (killed) run may have left on the test queues.
    with pool.app.connection_for_write() as conn:
        for queue in ("inference", "default", "training"):
            conn.default_channel.queue_purge(queue)
    try:
        yield pool
    finally:
        pool.stop_all()
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:  # also a pytest-timeout: show the workers
            print(f"worker logs of {request.node.nodeid}:\n{pool.logs()}")


@pytest.fixture
def celery_worker_process(workers):
    """One worker on the inference and default queues."""
    return workers.start()
