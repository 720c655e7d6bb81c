"""CELERY_WORKER_MAX_MEMORY_PER_CHILD: a child over the limit is replaced and no job is lost."""

from __future__ import annotations

import re
import time

import pytest

from jobs.models import JobStatus, Summary
from jobs.services.documents import DocumentInput, submit_document
from tests.factories import ARTICLE, UserFactory

pytestmark = pytest.mark.integration


def _pool_pids(app, hostname: str) -> list[int]:
    stats = app.control.inspect(destination=[hostname], timeout=2).stats() or {}
    return list(stats.get(hostname, {}).get("pool", {}).get("processes", []))


def _wait_until_done(ids: list[int], timeout: float = 45) -> list[Summary]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Summary.objects.filter(pk__in=ids))
        if len(rows) == len(ids) and all(r.status == JobStatus.SUCCEEDED for r in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"not all done: {[(r.pk, r.status, r.error) for r in rows]}")


def test_a_child_over_the_memory_limit_is_replaced_after_its_task(workers):
    # 1 KiB: every child is over the limit after every task, so each is replaced; one
    # summary per task, so that every summary has a child of its own.
    proc = workers.start(CELERY_WORKER_MAX_MEMORY_PER_CHILD="1", INFERENCE_BATCH_SIZE="1")
    hostname = next(iter(workers.app.control.ping(timeout=1)[0]))
    before = _pool_pids(workers.app, hostname)
    assert len(before) == 1, before

    user = UserFactory()
    ids = []
    for i, model in enumerate(["lead3", "textrank", "lead3", "textrank"]):
        item = DocumentInput(text=f"{ARTICLE}\n\nNumber {i}.", model=model, max_sentences=2)
        ids.append(submit_document(user, item).summary.pk)
    rows = _wait_until_done(ids)

    # Each job succeeded exactly once: one attempt, no retry, no duplicate run.
    assert [(r.status, r.attempts) for r in rows] == [(JobStatus.SUCCEEDED, 1)] * len(ids)
    assert {r.model for r in rows} == {"lead3", "textrank"}
    deadline = time.monotonic() + 15
    after = before
    while time.monotonic() < deadline and (not after or set(after) & set(before)):
        time.sleep(0.3)
        after = _pool_pids(workers.app, hostname)
    assert after and not set(after) & set(before), (before, after, workers.logs())
    assert proc.poll() is None  # the worker itself keeps running
    # And every task ran in a child of its own (billiard numbers each new child).
    children = dict(re.findall(r"ForkPoolWorker-(\d+)\] summary (\d+) succeeded", workers.logs()))
    assert len(children) == len(ids), workers.logs()
