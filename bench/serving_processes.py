"""Benchmark: inference processes x torch threads on this machine's cores, in one run.

The same test.jsonl documents summarized (16 per ``summarize`` call) by P processes of
T threads each, for every P x T = the cores (e.g. 2 x 1 and 1 x 2 on two cores), in
rounds with the order rotated, so a shared machine's load falls on each alike; docs/s
and the ratio to one process with every core's threads. The serving defaults
(INFERENCE_CONCURRENCY, INFERENCE_TORCH_THREADS) are chosen from this.

    .venv/bin/python -m bench.serving_processes --checkpoint var/bench/serve-bertsumext/best
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.common import CHECKPOINT, CHECKPOINT_HELP, DATA, ROOT, checkpoint_dir, log, now
from bench.serve_throughput import summarizer_alone


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--checkpoint", type=checkpoint_dir, default=str(CHECKPOINT), help=CHECKPOINT_HELP
    )
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--docs", type=int, default=60)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--precision", default="auto", help="as INFERENCE_PRECISION")
    p.add_argument("--out", default=str(ROOT / "var" / "bench" / "serving-processes.json"))
    args = p.parse_args()
    cores = len(os.sched_getaffinity(0))
    shapes = [(n, cores // n) for n in range(1, cores + 1) if cores % n == 0]
    with open(Path(args.data) / "test.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line)["article"] for line in f][: args.docs]
    rates: dict[str, list[float]] = {f"{n}x{t}": [] for n, t in shapes}
    for r in range(args.rounds):
        for n, t in shapes[r % len(shapes) :] + shapes[: r % len(shapes)]:
            run = argparse.Namespace(
                checkpoint=args.checkpoint, precision=args.precision, processes=n, threads=t
            )
            rate = summarizer_alone(run, texts)
            rates[f"{n}x{t}"].append(rate)
            log(f"round {r + 1}: {n} process(es) x {t} thread(s): {rate:.3f} docs/s")
    base = sum(rates[f"1x{cores}"]) / args.rounds
    results = {
        k: {"docs_per_s": sum(v) / len(v), "vs_1_process": sum(v) / len(v) / base}
        for k, v in rates.items()
    }
    print(json.dumps(results, indent=2))
    Path(args.out).write_text(json.dumps({"date": now(), "args": vars(args), "results": results}))


if __name__ == "__main__":
    main()
