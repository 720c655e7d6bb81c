"""Benchmark: BertSumExt's sentence vectors, ``cls`` against ``pooler`` and ``mean``.

Each pooling trains the same recipe (``TrainConfig``'s defaults, only
``model.sentence_pooling`` differs) for the same number of steps on the same training
documents with the same seed, and is scored on the same validation documents (ROUGE,
the model selection's numbers) beside Lead-3 measured in the same run. The report is
each pooling's validation ROUGE and its difference to ``cls`` (the paper's).

Usage (from the repository root; the data stays in ../shared/data/cnndm):

    nohup .venv/bin/python -m bench.pooling --steps 150 --train-limit 800 --val-limit 200 \
        > var/bench/pooling.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import DATA, ROOT, Results, log, progress_logger
from ml.models.bertsumext.config import SENTENCE_POOLINGS, TrainConfig, recipe_model
from ml.models.bertsumext.train import train
from ml.text.data import load_examples


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--out", default=str(ROOT / "var" / "bench" / "pooling"))
    p.add_argument("--cache", default=str(ROOT / "var" / "cache" / "pooling"))
    p.add_argument("--steps", type=int, default=150, help="optimizer steps per pooling")
    p.add_argument("--train-limit", type=int, default=800, help="first N training stories")
    p.add_argument("--val-limit", type=int, default=200, help="first N validation stories")
    p.add_argument("--evals", type=int, default=2, help="validations per run (best kept)")
    p.add_argument("--poolings", default=",".join(SENTENCE_POOLINGS))
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


def run_one(pooling: str, args: argparse.Namespace, data: tuple[list, list]) -> dict[str, Any]:
    """Train and validate one pooling; its best validation metrics and seconds."""
    model = recipe_model()
    model.sentence_pooling = pooling
    eval_every = max(1, -(-args.steps // args.evals))
    config = TrainConfig(
        model=model,
        max_steps=args.steps,
        eval_every=eval_every,
        val_limit=args.val_limit,
        cache_dir=args.cache,
        seed=args.seed,
        keep_checkpoints=1,
    )
    out = Path(args.out) / pooling
    start = time.perf_counter()
    result = train(config, data[0], data[1], out, on_progress=progress_logger(25), resume=False)
    return {
        "seconds": time.perf_counter() - start,
        "steps": result.steps,
        "best_step": max(result.history, key=lambda h: h["val_rouge"])["step"],
        **{k: v for k, v in result.metrics.items() if k.startswith(("val_", "lead3_"))},
    }


def main() -> int:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = Results(out, args, "bench.pooling")
    data = Path(args.data)
    train_data = load_examples(data / "train.jsonl", limit=args.train_limit)
    val_data = load_examples(data / "validation.jsonl", limit=args.val_limit)
    log(
        f"data: train {len(train_data)}, validation {len(val_data)}; torch threads "
        f"{torch.get_num_threads()}"
    )
    runs: dict[str, Any] = results.setdefault("runs", {})
    for pooling in args.poolings.split(","):
        runs[pooling] = run_one(pooling, args, (train_data, val_data))
        results.save()
        log(f"{pooling}: {json.dumps(runs[pooling])}")
    if "cls" in runs:
        base = runs["cls"]
        results["vs_cls"] = {
            p: {k: r[k] - base[k] for k in ("val_rouge1", "val_rouge2", "val_rougeLsum")}
            for p, r in runs.items()
        }
    results.save()
    print(json.dumps({k: results[k] for k in ("runs", "vs_cls") if k in results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
