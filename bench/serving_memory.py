"""Benchmark: what a second CPU inference worker process costs, with and without the
weights preloaded in the worker's parent before it forks (INFERENCE_PRELOAD).

For each configuration one real stack (``runstack --detach``, as ``make up``) serves a
BertSumExt checkpoint; the same documents are summarized through the service so every
process has loaded and run the model, then the inference worker's process group is
measured from /proc/PID/smaps_rollup: RSS (shared pages counted in every process) and
PSS (shared pages divided among the processes that map them). Selections of every
configuration are compared with the first one's.

    .venv/bin/python -m bench.serving_memory --checkpoint var/bench/serve-bertsumext/best
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from bench.common import CHECKPOINT, CHECKPOINT_HELP, DATA, ROOT, checkpoint_dir, log, now
from bench.stack import Stack, group_pids, memory_kb

CONFIGS = {  # name: (processes, preload)
    "1 process, no preload": (1, False),
    "2 processes, no preload": (2, False),
    "1 process, preload": (1, True),
    "2 processes, preload": (2, True),
}


def write_docs(path: Path, data: Path, limit: int) -> None:
    with open(data / "test.jsonl", encoding="utf-8") as src:
        lines = [json.dumps({"text": json.loads(line)["article"]}) for line in src][:limit]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure(name: str, args: argparse.Namespace, docs: Path) -> dict[str, Any]:
    processes, preload = CONFIGS[name]
    var_dir = Path(args.var) / name.replace(" ", "-").replace(",", "")
    shutil.rmtree(var_dir, ignore_errors=True)
    env = {
        "BERTSUMEXT_CHECKPOINT": str(Path(args.checkpoint).resolve()),
        "INFERENCE_PRELOAD": str(preload).lower(),
        "INFERENCE_PRECISION": args.precision,
        "DEBUG": "false",
    }
    stack = Stack(var_dir, args.port, env, ["--inference-concurrency", str(processes)])
    stack.start()
    try:
        ids = stack.run_db("submit", "bench", "bertsumext", str(docs))["ids"]
        ids_path = var_dir / "ids.json"
        ids_path.write_text(json.dumps(ids))
        rows = stack.run_db("wait", str(ids_path), "900")
        time.sleep(args.settle)
        pids = sorted(group_pids(stack.groups()["worker-inference"]))
        per_process = {pid: memory_kb(pid) for pid in pids}
    finally:
        stack.stop()
    rss = sum(m[0] for m in per_process.values()) / 1024
    pss = sum(m[1] for m in per_process.values()) / 1024
    log(f"{name}: {len(pids)} processes (parent + pool), RSS {rss:.0f} MiB, PSS {pss:.0f} MiB")
    return {
        "processes": processes,
        "preload": preload,
        "rss_mib": round(rss),
        "pss_mib": round(pss),
        "per_process_mib": [(round(r / 1024), round(p / 1024)) for r, p in per_process.values()],
        "statuses": sorted(set(rows["status"].values())),
        "models": rows["models"],
        "selected": rows["selected"],
    }


def report(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    first = next(iter(results.values()))
    out: dict[str, Any] = {}
    by_config = {(r["processes"], r["preload"]): r for r in results.values()}
    for preload in (False, True):
        one, two = by_config.get((1, preload)), by_config.get((2, preload))
        if one and two:
            key = "preload" if preload else "no preload"
            out[f"second process, {key}"] = {
                "rss_mib": two["rss_mib"] - one["rss_mib"],
                "pss_mib": two["pss_mib"] - one["pss_mib"],
            }
    # Summary ids differ per stack; compare the selections in submission order.
    base = list(first["selected"].values())
    out["selections identical"] = {
        name: list(r["selected"].values()) == base for name, r in results.items()
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--checkpoint", type=checkpoint_dir, default=str(CHECKPOINT), help=CHECKPOINT_HELP
    )
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--docs", type=int, default=12, help="test.jsonl documents summarized")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--port", type=int, default=8132)
    p.add_argument("--settle", type=float, default=2.0, help="seconds before measuring")
    p.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--var", default=str(ROOT / "var" / "bench" / "serving-memory"))
    args = p.parse_args()
    Path(args.var).mkdir(parents=True, exist_ok=True)
    docs = Path(args.var) / "docs.jsonl"
    write_docs(docs, Path(args.data), args.docs)
    results = {name: measure(name, args, docs) for name in args.configs}
    summary = report(results)
    for name, r in results.items():
        print(f"{name:26s} RSS {r['rss_mib']:5d} MiB  PSS {r['pss_mib']:5d} MiB  {r['statuses']}")
    print(json.dumps(summary, indent=2))
    out = {"date": now(), "args": vars(args), "results": results, "summary": summary}
    (Path(args.var) / "results.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
