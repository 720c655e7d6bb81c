"""Batched inference worker vs one summary per task, on the same documents, same run.

    .venv/bin/python -m bench.inference_batching [--docs 48] [--sizes 1,8,16] [--rounds 2]

Runs runstack's inference worker (devstack.children) on embedded defaults with a
BertSumExt (default encoder, random head) once per size per round, interleaved:
INFERENCE_BATCH_SIZE=1 (the old path: one document per task), 8 and 16. Each
run loads the model on a first document, then times N documents queued at once
until all SUCCEEDED. Prints docs/s of each and its ratio to the first size; writes
var/bench/inference_batching/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from typing import Any

from bench.common import log, now
from bench.inference_stack import (
    Stack,
    all_done,
    documents,
    embedded_redis,
    make_checkpoint,
    setup,
    submit,
    wait_until,
)

WORKER = "worker-inference"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=48)
    parser.add_argument(
        "--sizes", default="1,8,16", help="INFERENCE_BATCH_SIZE values; first: baseline"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1200)
    return parser.parse_args()


def one_run(var: Any, checkpoint: Any, texts: list[str], size: int, timeout: float) -> float:
    """docs/s of one worker with INFERENCE_BATCH_SIZE=size."""
    stack = Stack(var, 1, BERTSUMEXT_CHECKPOINT=str(checkpoint), INFERENCE_BATCH_SIZE=str(size))
    try:
        stack.start(WORKER)
        if wait_until(all_done(submit(texts[:1])), timeout) is None:  # loads the model
            raise RuntimeError(stack.log(WORKER)[-3000:])
        seconds = wait_until(all_done(submit(texts)), timeout, poll=0.1)
        if seconds is None:
            raise RuntimeError(f"not done in {timeout}s")
    finally:
        stack.stop_all()
    log(f"batch size {size}: {len(texts)} docs in {seconds:.1f}s")
    return len(texts) / seconds


def main() -> None:
    args = parse_args()
    var = setup("inference_batching")
    checkpoint = make_checkpoint(var)
    texts = documents(args.docs)
    rates: dict[int, list[float]] = {int(s): [] for s in args.sizes.split(",")}
    with embedded_redis(var):
        for _ in range(args.rounds):
            for size in rates:
                rates[size].append(one_run(var, checkpoint, texts, size, args.timeout))
    baseline = statistics.median(next(iter(rates.values())))
    results = {
        "date": now(),
        "args": vars(args),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "docs_per_s": {str(s): [round(r, 3) for r in v] for s, v in rates.items()},
        "ratio_vs_first": {
            str(s): round(statistics.median(v) / baseline, 2) for s, v in rates.items()
        },
    }
    (var / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
