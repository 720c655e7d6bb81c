"""Faults against the inference worker as deployed (issue #14), on embedded defaults:
runstack's inference worker and beat (devstack.children), a SQLite database and the
embedded Redis, default settings unless an option says otherwise.

    .venv/bin/python -m bench.faults_inference [--docs 32] [--faults pool,group,flush]

- pool: SIGKILL the worker's pool processes while a whole batch is being scored (its
  main process stays and forks new ones, as Celery does);
- group: SIGKILL the worker's whole process group at the same moment, then start it
  again at once, as a supervisor does;
- flush: stop the worker, queue --flush-docs summaries (lead3: the fault is the
  broker's, not the model's), FLUSHALL the broker, start worker and beat.

Each prints tried / lost / duplicated (a result stored twice, from the worker logs)
/ recovery seconds (from the kill or the flush until every job finished; for a kill
also from the worker being back until the jobs it was running finished) / the target.
Writes var/bench/faults_inference/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from bench.common import log, now
from bench.inference_stack import (
    Stack,
    all_done,
    documents,
    embedded_redis,
    flush_broker,
    make_checkpoint,
    setup,
    states,
    submit,
    wait_until,
)

WORKER = "worker-inference"
TARGET_AFTER_KILL = 60  # seconds: issue #14's target for a killed worker's jobs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs", type=int, default=32, help="CNN/DM test documents per kill (two batches)"
    )
    parser.add_argument("--flush-docs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1, help="runstack's default")
    parser.add_argument("--faults", default="pool,group,flush")
    parser.add_argument("--timeout", type=float, default=900)
    return parser.parse_args()


def row(fault: str, ids: list[int], stack: Stack, recovery: float | None, **extra: Any) -> dict:
    from jobs.models import Summary

    stored = stack.stored()
    attempts = dict(Summary.objects.filter(pk__in=ids).values_list("pk", "attempts"))
    return {
        "fault": fault,
        "tried": len(ids),
        "lost": len(ids) - states(ids)["succeeded"],
        "duplicated": sum(max(0, stored[i] - 1) for i in ids),
        "recovery_s": None if recovery is None else round(recovery, 1),
        "max_attempts": max(attempts.values()),
        "load_average_1m": round(os.getloadavg()[0], 1),
        **extra,
    }


def taken_again(ids: list[int]) -> bool:
    """Every killed job is leased again (a second attempt) or finished."""
    from jobs.models import Summary

    rows = Summary.objects.filter(pk__in=ids)
    return all(r.attempts >= 2 or r.status == "succeeded" for r in rows)


def kill(stack: Stack, texts: list[str], fault: str, batch: int, timeout: float) -> dict:
    ids = submit(texts)

    def mid_batch() -> bool:  # a batch finished (model loaded), a whole one being scored
        counts = states(ids)
        return counts["succeeded"] > 0 and counts["running"] == min(batch, len(ids) - 1)

    if wait_until(mid_batch, timeout) is None:
        raise RuntimeError(f"never mid-batch: {states(ids)}\n{stack.log(WORKER)[-3000:]}")
    from jobs.models import Summary

    killed = list(Summary.objects.filter(pk__in=ids, status="running").values_list("pk", flat=True))
    killed_at = time.monotonic()
    if fault == "pool":
        log(f"pool: SIGKILL {stack.kill_pool(WORKER)} pool process(es), {len(killed)} jobs running")
        back = 0.0
    else:
        stack.kill_group(WORKER)
        log(f"group: SIGKILL the worker's process group, {len(killed)} jobs running; restarting")
        stack.start(WORKER)
        back = time.monotonic() - killed_at
    reclaimed = wait_until(lambda: taken_again(killed), timeout, poll=0.1)
    killed_done = wait_until(all_done(killed), timeout, poll=0.2)
    done = wait_until(all_done(ids), timeout, poll=0.2)
    recovery = None if done is None else time.monotonic() - killed_at
    return row(
        fault,
        ids,
        stack,
        recovery,
        killed_running=len(killed),
        worker_back_s=round(back, 1),
        killed_jobs_reclaimed_after_back_s=None if reclaimed is None else round(reclaimed, 1),
        killed_jobs_done_after_back_s=None if killed_done is None else round(killed_done, 1),
        target_s=f"killed jobs done <= {TARGET_AFTER_KILL} after the worker is back",
    )


def flush(stack: Stack, count: int, timeout: float) -> dict:
    from django.conf import settings

    stack.stop(WORKER)
    stack.stop("beat")
    ids = submit(["A short document. It has three sentences. Lead-3 takes them."] * count, "lead3")
    flush_broker()
    flushed = time.monotonic()
    log(f"flush: {count} QUEUED, broker flushed; starting worker and beat")
    stack.start(WORKER)
    stack.start("beat")
    limit = settings.QUEUED_REENQUEUE_AFTER + 60
    done = wait_until(all_done(ids), limit + timeout, poll=0.5)
    recovery = None if done is None else time.monotonic() - flushed
    return row("flush", ids, stack, recovery, target_s=f"<= {limit} (QUEUED_REENQUEUE_AFTER + 60)")


def main() -> None:
    args = parse_args()
    var = setup("faults_inference")
    from django.conf import settings

    checkpoint = make_checkpoint(var)
    texts = documents(args.docs)
    batch = settings.INFERENCE_BATCH_SIZE
    results: dict[str, Any] = {"date": now(), "args": vars(args), "rows": []}
    with embedded_redis(var):
        stack = Stack(var, args.concurrency, BERTSUMEXT_CHECKPOINT=str(checkpoint))
        try:
            stack.start(WORKER)
            stack.start("beat")
            for fault in args.faults.split(","):
                if fault == "flush":
                    result = flush(stack, args.flush_docs, args.timeout)
                else:
                    result = kill(stack, texts, fault, batch, args.timeout)
                log(json.dumps(result))
                results["rows"].append(result)
                (var / "results.json").write_text(json.dumps(results, indent=2))
        finally:
            stack.stop_all()
    for result in results["rows"]:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
