"""The inference worker as runstack starts it (devstack.children), on the test database
and broker, with a tiny BertSumExt: it scores queued summaries in batches, and every
summary of a worker SIGKILLed mid-batch (its pool process, or its whole process group)
is finished exactly once within 60 s of the worker being back, with no manual step;
after a broker flush the reaper (real beat) sends QUEUED jobs again (issue #14).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from django.db import transaction
from django.utils import timezone

from jobs.models import JobStatus, Summary
from jobs.services.summaries import create_summary
from tests.factories import ARTICLE, DocumentFactory, UserFactory
from tests.integration.test_beat import stack_argv

pytestmark = pytest.mark.integration

DEADLINE = 60  # seconds from the worker being back (issue #14's target)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    from ml.encoders import DEFAULT_ENCODER, load_tokenizer
    from ml.models.bertsumext.checkpoint import save_pretrained
    from ml.models.bertsumext.model import BertSumExt
    from tests.ml.fixtures.bertsumext import tiny_config

    torch.manual_seed(0)
    return save_pretrained(
        BertSumExt(tiny_config()), load_tokenizer(DEFAULT_ENCODER), tmp_path / "ckpt"
    )


def long_text(i: int, sentences: int) -> str:
    """A document long enough that a batch of them takes a moment even on a tiny model."""
    words = ARTICLE.split()
    return " ".join(
        " ".join(words[(i + j + k) % len(words)] for k in range(12)).capitalize() + "."
        for j in range(sentences)
    )


def submit(n: int, sentences: int = 5, model: str = "") -> list[int]:
    """n summaries queued and sent (on commit) the way the API queues them."""
    user = UserFactory()
    with transaction.atomic():
        docs = [DocumentFactory(owner=user, text=long_text(i, sentences)) for i in range(n)]
        return [create_summary(doc, user, model, 3).pk for doc in docs]


def wait_for(ids: list[int], timeout: float, workers, until=None) -> list[Summary]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Summary.objects.filter(pk__in=ids))
        if until(rows) if until else all(r.status in FINISHED for r in rows):
            return rows
        time.sleep(0.05)
    states = Counter(r.status for r in Summary.objects.filter(pk__in=ids))
    raise AssertionError(f"not done in {timeout:.0f}s: {dict(states)}\n{workers.logs()}")


def stored_results(log_dir: Path) -> Counter:
    """How often each summary's result was stored, from every worker log."""
    found: Counter = Counter()
    for log in log_dir.glob("worker-inference*.log"):
        found.update(int(m) for m in re.findall(r"summary (\d+) succeeded", log.read_text()))
    return found


def pool_pids(parent: int) -> list[int]:
    """The worker's pool processes (its children), from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.parametrize("fault", ["pool", "group"])
def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    workers, tmp_path, tiny_checkpoint, fault
):
    env = {"BERTSUMEXT_CHECKPOINT": str(tiny_checkpoint), "INFERENCE_BATCH_SIZE": "4"}
    argv = stack_argv(tmp_path)["worker-inference"]
    worker = workers.start_command("worker-inference", argv, **env)
    ids = submit(12, sentences=150)  # three batches of four

    def mid_batch(rows):  # the model is loaded and a whole batch is being scored
        states = Counter(r.status for r in rows)
        return states[JobStatus.SUCCEEDED] and states[JobStatus.RUNNING] == 4

    wait_for(ids, 120, workers, until=mid_batch)
    if fault == "pool":
        for pid in pool_pids(worker.pid):
            os.kill(pid, signal.SIGKILL)  # the main process stays and forks a new one
    else:
        workers.kill(worker)  # the whole process group
    killed = set(
        Summary.objects.filter(pk__in=ids, status=JobStatus.RUNNING).values_list("pk", flat=True)
    )
    assert killed, "the kill was meant to land mid-batch"
    if fault == "group":
        workers.start_command("worker-inference-2", argv, **env)  # as runstack restarts it
    back = time.monotonic()

    rows = wait_for(ids, DEADLINE, workers)
    assert time.monotonic() - back < DEADLINE
    assert all(r.status == JobStatus.SUCCEEDED for r in rows), [(r.pk, r.error) for r in rows]
    # Each killed job ran once more, each other job once; each result was stored once.
    assert {r.pk: r.attempts for r in rows} == {r.pk: 2 if r.pk in killed else 1 for r in rows}
    assert stored_results(tmp_path) == Counter(ids), workers.logs()


def test_queued_summaries_are_scored_in_batches(workers, tmp_path, tiny_checkpoint):
    ids = submit(8)  # all queued before the worker starts: two full batches
    env = {"BERTSUMEXT_CHECKPOINT": str(tiny_checkpoint), "INFERENCE_BATCH_SIZE": "4"}
    workers.start_command("worker-inference", stack_argv(tmp_path)["worker-inference"], **env)
    rows = wait_for(ids, 90, workers)
    assert all(r.status == JobStatus.SUCCEEDED and r.model == "bertsumext" for r in rows)
    sizes = Counter(r.batch_id for r in rows)
    assert sorted(sizes.values()) == [4, 4], sizes
    log = (tmp_path / "worker-inference.log").read_text()
    assert log.count("batch of 4 done") == 2, log


def test_after_a_broker_flush_the_reaper_sends_queued_jobs_again(workers, tmp_path):
    reenqueue_after = 5
    env = {"QUEUED_REENQUEUE_AFTER": str(reenqueue_after), "REAPER_INTERVAL_SECONDS": "2"}
    argv = stack_argv(tmp_path)
    workers.start_command("worker-inference", argv["worker-inference"], **env)
    workers.start_command("beat", argv["beat"], ping=False, **env)
    # 100 jobs sent (enqueued_at now) whose messages the broker lost: the state a
    # Redis flush leaves behind.
    user = UserFactory()
    docs = [DocumentFactory(owner=user) for _ in range(100)]
    Summary.objects.bulk_create(
        Summary(document=d, status=JobStatus.QUEUED, enqueued_at=timezone.now()) for d in docs
    )
    flushed = time.monotonic()
    ids = list(Summary.objects.values_list("pk", flat=True))
    rows = wait_for(ids, reenqueue_after + 60, workers)
    assert time.monotonic() - flushed < reenqueue_after + 60
    assert all(r.status == JobStatus.SUCCEEDED and r.attempts == 1 for r in rows)
    assert stored_results(tmp_path) == Counter(ids)
