"""What the inference benchmarks share: a real inference worker (and beat), started with
runstack's command lines (devstack.children), on embedded defaults — a SQLite database
and the embedded Redis of a private var directory (var/bench/<name>) — serving a
BertSumExt with the default encoder and a random head (its speed is a trained one's).

Call ``setup(name)`` before anything imports Django settings.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import DATA, ROOT, log

STORED = re.compile(r"summary (\d+) succeeded")


def setup(name: str) -> Path:
    """A fresh var directory and database for this benchmark; Django set up on them."""
    # SIGTERM unwinds like Ctrl-C, so the worker, beat and Redis children are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    var = ROOT / "var" / "bench" / name
    if var.exists():
        shutil.rmtree(var)
    var.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        SUMMARIZER_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.local",
        DATABASE_URL=f"sqlite:///{var / 'summarizer.sqlite3'}",
        REDIS_URL=f"redis+socket://{var / 'redis' / 'redis.sock'}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return var


def make_checkpoint(var: Path) -> Path:
    """BertSumExt: the default encoder, a random head (seeded), saved like a trained one."""
    import torch

    from ml.encoders import load_tokenizer
    from ml.models.bertsumext.checkpoint import save_pretrained
    from ml.models.bertsumext.config import BertSumExtConfig
    from ml.models.bertsumext.model import BertSumExt

    torch.manual_seed(0)
    config = BertSumExtConfig()
    model = BertSumExt.from_pretrained_encoder(config)
    return save_pretrained(model, load_tokenizer(config.encoder), var / "bertsumext")


def documents(limit: int) -> list[str]:
    from ml.text.data import load_examples

    return [e.text for e in load_examples(DATA / "test.jsonl", limit=limit)]


def submit(texts: list[str], model: str = "") -> list[int]:
    """Queue one summary per text, sent on commit, as the API does."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from jobs.models import Document
    from jobs.services.summaries import create_summary

    user, _ = get_user_model().objects.get_or_create(username="bench")
    with transaction.atomic():
        docs = [Document.objects.create(owner=user, text=t, sha256="-") for t in texts]
        return [create_summary(d, user, model, 3).pk for d in docs]


def states(ids: list[int]) -> Counter:
    from jobs.models import Summary

    return Counter(Summary.objects.filter(pk__in=ids).values_list("status", flat=True))


def wait_until(check: Any, timeout: float, poll: float = 0.05) -> float | None:
    """Seconds until check() holds, or None after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(poll)
    return None


def all_done(ids: list[int]) -> Any:
    return lambda: states(ids)["succeeded"] + states(ids)["failed"] == len(ids)


class Stack:
    """The stack's children by name (worker-inference, beat), started as runstack does."""

    def __init__(self, var: Path, concurrency: int, **env: str):
        from devstack.children import child_env, service_children

        self.log_dir = var / "log"
        self.log_dir.mkdir(exist_ok=True)
        opts = {
            "inference_concurrency": concurrency,
            "port": 0,
            "web_workers": 1,
            "no_tensorboard": True,
        }
        self.argv = {c.name: c.argv for c in service_children(opts, self.log_dir)}
        self.env = {**child_env(None), **env}
        self.procs: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, name: str, ready_timeout: float = 180) -> None:
        self.stop(name)  # never two of one child
        before = self.log(name).count(" ready.")
        with open(self.log_dir / f"{name}.log", "ab") as out:
            self.procs[name] = subprocess.Popen(
                self.argv[name],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                process_group=0,
            )
        if name.startswith("worker"):
            ready = wait_until(lambda: self.log(name).count(" ready.") > before, ready_timeout)
            if ready is None:
                raise RuntimeError(f"{name} not ready in {ready_timeout}s:\n{self.log(name)}")
            log(f"{name} ready in {ready:.1f}s")

    def pool(self, name: str) -> list[int]:
        """The pool processes of a worker (its main process's children), from /proc."""
        parent, pids = self.procs[name].pid, []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(stat.parent.name))
        return pids

    def kill_pool(self, name: str) -> int:
        pids = self.pool(name)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return len(pids)

    def kill_group(self, name: str) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def stored(self) -> Counter:
        """How often each summary's result was stored, over every worker log."""
        found: Counter = Counter()
        for path in self.log_dir.glob("worker-inference*.log"):
            found.update(int(m) for m in STORED.findall(path.read_text(errors="replace")))
        return found


@contextlib.contextmanager
def embedded_redis(var: Path) -> Any:
    from devstack import embedded_redis as redis

    with redis.running(var / "log" / "redis.log"):
        yield


def flush_broker() -> None:
    import redis

    from devstack.embedded_redis import socket_path

    redis.Redis(unix_socket_path=str(socket_path())).flushall()
