"""Benchmark: the service at the model's speed, on this machine, in one run (issue #16).

1. The summarizer alone: the same test.jsonl documents summarized in batches of
   INFERENCE_BATCH_SIZE (what one inference task scores in one call, so the ratio
   compares like with like) by INFERENCE_CONCURRENCY processes with
   INFERENCE_TORCH_THREADS threads each (the serving defaults, or --batch-size /
   --processes / --threads, which the stacks then also run), no service: docs/s.
2. For each configuration (``embedded``: SQLite and the embedded Redis, what
   ``make up`` runs; ``embedded-2x1``: the same with the web's old settings, 2
   processes of 1 thread and a database connection per request, the submissions
   baseline; ``postgres``: PostgreSQL on
   127.0.0.1:5432 in a database of its own, ``bench_serve``, created and dropped here,
   and Redis DB 7 on 127.0.0.1:6379, flushed before and after) a real stack
   (``runstack --detach``) serving the checkpoint:
   - end to end: one batch upload of the same documents until all are SUCCEEDED:
     docs/s and its ratio to the mean of (1) measured just before and again just
     after it (the load of a shared machine drifts);
   - submission load: --requests single-document POSTs (test.jsonl texts, ``model``
     lead3 so the inference worker keeps up and the web path is what is measured)
     from --clients concurrent keep-alive clients: req/s, p50/p95/p99, errors, and
     lost (a 201 whose document or summary is not in the database);
   - the web server's CPU seconds per request (its processes' counters, before and
     after the load), and the web and inference worker's peak RSS and PSS.
The load generator runs on the same cores as the server, as the issue asks.

    .venv/bin/python -m bench.serve_throughput --checkpoint var/bench/serve-bertsumext/best
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import shutil
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import CHECKPOINT, CHECKPOINT_HELP, DATA, ROOT, checkpoint_dir, log, now
from bench.stack import PeakMemory, Stack

# Configurations: SQLite + embedded Redis (make up) with the web's old settings (2
# processes x 1 thread, a database connection per request: the submissions baseline),
# the same with the new defaults, and PostgreSQL + Redis.
SYNC = "embedded-2x1"
CONFIGS = (SYNC, "embedded", "postgres")


def _alone_worker(checkpoint, precision, threads, batch, texts, barrier, out) -> None:
    import torch

    from ml.models.bertsumext.summarizer import Summarizer
    from ml.precision import serving_precision

    torch.set_num_threads(threads)
    if precision == "auto":  # what the service's INFERENCE_PRECISION=auto serves
        precision = serving_precision("cpu")
    system = Summarizer.load(checkpoint, "cpu", precision=precision)
    system.summarize(texts[:2])  # warm-up
    barrier.wait()
    began, cpu = time.time(), time.process_time()
    for i in range(0, len(texts), batch):
        system.summarize(texts[i : i + batch], max_sentences=3)
    out.put((began, time.time(), time.process_time() - cpu))


@dataclass(frozen=True)
class Alone:
    docs_per_s: float
    cpu_s_per_doc: float


def summarizer_alone(args: argparse.Namespace, texts: list[str]) -> Alone:
    """``args.processes`` processes, each summarizing its share of ``texts``."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(args.processes), ctx.Queue()
    shards = [texts[i :: args.processes] for i in range(args.processes)]
    procs = [
        ctx.Process(
            target=_alone_worker,
            args=(args.checkpoint, args.precision, args.threads, args.batch_size, s, barrier, out),
        )
        for s in shards
    ]
    for proc in procs:
        proc.start()
    spans = [out.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    seconds = max(e for _, e, _ in spans) - min(b for b, _, _ in spans)
    return Alone(len(texts) / seconds, sum(c for _, _, c in spans) / len(texts))


def post(conn: http.client.HTTPConnection, path: str, body: Any, token: str) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"null")


def _one_pass(stack: Stack, texts: list[str], token: str) -> dict[str, Any]:
    """One batch upload of ``texts`` until all are finished: docs/s, and the service's
    CPU seconds per document (inference worker + web, from their /proc counters)."""
    names = ("worker-inference", "web")
    cpu_before = sum(stack.cpu(n) for n in names)
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=600)
    began = time.time()
    status, body = post(conn, "/api/documents/batch/", [{"text": t} for t in texts], token)
    if status != 201:
        raise RuntimeError(f"batch upload: {status} {body}")
    ids_path = stack.var_dir / "e2e-ids.json"
    ids_path.write_text(json.dumps([d["summary"]["id"] for d in body]))
    rows = stack.run_db("wait", str(ids_path), "3600")
    cpu = sum(stack.cpu(n) for n in names) - cpu_before
    statuses = list(rows["status"].values())
    return {
        "docs_per_s": len(texts) / (rows["last_finished"] - began),
        "cpu_s_per_doc": cpu / len(texts),
        "succeeded": statuses.count("succeeded"),
        "models": rows["models"],
        "errors": rows["errors"][:3],
    }


def end_to_end(stack: Stack, texts: list[str], alone: Alone, args) -> dict[str, Any]:
    """``args.rounds`` passes through the service, each between two runs of the
    summarizer alone (the stack idle): the shared machine's load drifts by 2x within
    minutes, so a pass is compared with the mean of the baselines around it. Also the
    CPU ratio (the alone's CPU seconds per document over the service's), which the
    other sessions' load moves far less."""
    token = stack.run_db("token", "e2e")["token"]
    baselines, passes = [alone], []
    for _ in range(args.rounds):
        passes.append(_one_pass(stack, texts, token))
        baselines.append(summarizer_alone(args, texts))
        log(f"pass {passes[-1]['docs_per_s']:.3f} docs/s; alone after: {baselines[-1]}")
    wall = [
        p["docs_per_s"] / statistics.mean([b.docs_per_s, a.docs_per_s])
        for p, b, a in zip(passes, baselines, baselines[1:], strict=False)
    ]
    cpu = statistics.mean(b.cpu_s_per_doc for b in baselines)
    return {
        "docs_per_s": [round(p["docs_per_s"], 3) for p in passes],
        "summarizer_alone_docs_per_s": [round(b.docs_per_s, 3) for b in baselines],
        "vs_summarizer_alone": [round(r, 3) for r in wall],
        "vs_summarizer_alone_median": round(statistics.median(wall), 3),
        "cpu_ms_per_doc": [round(p["cpu_s_per_doc"] * 1000) for p in passes],
        "summarizer_alone_cpu_ms_per_doc": round(cpu * 1000),
        "cpu_vs_summarizer_alone": round(
            cpu / statistics.median(p["cpu_s_per_doc"] for p in passes), 3
        ),
        "succeeded": f"{sum(p['succeeded'] for p in passes)}/{len(texts) * len(passes)}",
        "models": passes[0]["models"],
        "errors": [e for p in passes for e in p["errors"]][:3],
    }


def _client(port, token, bodies, latencies, failures) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for body in bodies:
        began = time.perf_counter()
        try:
            status, _ = post(conn, "/api/documents/", body, token)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(repr(exc))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        latencies.append(time.perf_counter() - began)
        if status != 201:
            failures.append(status)


def load(stack: Stack, texts: list[str], requests: int, clients: int) -> dict[str, Any]:
    token = stack.run_db("token", "load")["token"]
    bodies = [{"text": texts[i % len(texts)], "model": "lead3"} for i in range(requests)]
    latencies: list[float] = []
    failures: list[Any] = []
    threads = [
        threading.Thread(
            target=_client, args=(stack.port, token, bodies[c::clients], latencies, failures)
        )
        for c in range(clients)
    ]
    cpu_before = {n: stack.cpu(n) for n in ("web", "worker-inference")}
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    cpu = {n: stack.cpu(n) - before for n, before in cpu_before.items()}
    stored = stack.run_db("count", "load")
    ok = requests - len(failures)
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": requests,
        "clients": clients,
        "req_per_s": round(requests / seconds, 1),
        "p50_ms": round(q[49] * 1000),
        "p95_ms": round(q[94] * 1000),
        "p99_ms": round(q[98] * 1000),
        "errors": len(failures),
        "error_sample": failures[:3],
        "lost": ok - stored["documents"] + stored["without_summary"],
        "web_cpu_ms_per_request": round(cpu["web"] * 1000 / requests, 2),
        "worker_cpu_ms_per_request": round(cpu["worker-inference"] * 1000 / requests, 2),
    }


def config_env(name: str, args: argparse.Namespace) -> dict[str, str]:
    env = {
        "BERTSUMEXT_CHECKPOINT": str(Path(args.checkpoint).resolve()),
        "DEBUG": "false",
        "THROTTLE_UPLOADS": "",  # 1,000 uploads from one user would pass the hourly limit
    }
    if args.precision != "auto":
        env["INFERENCE_PRECISION"] = args.precision
    env["INFERENCE_BATCH_SIZE"] = str(args.batch_size)  # what the baseline batches by
    if name == "postgres":
        env["DATABASE_URL"] = f"{args.pg_url}/bench_serve"
        env["REDIS_URL"] = args.redis_url
    if name == SYNC:  # the baseline: the web's settings before issue #16
        env.update(WEB_CONCURRENCY="2", WEB_THREADS="1", CONN_MAX_AGE="0")
    return env


def postgres(args: argparse.Namespace, create: bool) -> None:
    """Create (after dropping) or drop the bench_serve database; flush the Redis DB."""
    import psycopg
    import redis

    with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_serve WITH (FORCE)")
        if create:
            conn.execute("CREATE DATABASE bench_serve")
    redis.Redis.from_url(args.redis_url).flushdb()


def run_config(name: str, args: argparse.Namespace, texts: list[str], alone: Alone) -> dict:
    """One stack of configuration ``name``: end to end, the submission load, memory."""
    var_dir = Path(args.var) / name
    shutil.rmtree(var_dir, ignore_errors=True)
    if name == "postgres":
        postgres(args, create=True)
    stack = Stack(var_dir, args.port, config_env(name, args))
    log(f"{name}: starting the stack")
    stack.start()
    try:
        with PeakMemory(stack, ("web", "worker-inference")) as peak:
            e2e = end_to_end(stack, texts, alone, args) if name != SYNC else {}
            log(f"{name}: end to end {e2e}")
            submissions = load(stack, texts, args.requests, args.clients)
            log(f"{name}: submissions {submissions}")
        processes = {n: stack.memory(n)[0] for n in ("web", "worker-inference")}
    finally:
        stack.stop()
        if name == "postgres":
            postgres(args, create=False)
    memory = {n: {k: round(v) for k, v in m.items()} for n, m in peak.peak.items()}
    return {
        "end_to_end": e2e,
        "submissions": submissions,
        "peak_mib": memory,
        "processes": processes,
    }


def serving_defaults(var_dir: Path) -> tuple[int, int, int]:
    """INFERENCE_CONCURRENCY, INFERENCE_TORCH_THREADS and INFERENCE_BATCH_SIZE as the
    stack's settings say."""
    code = "from django.conf import settings as s; "
    code += "print(s.INFERENCE_CONCURRENCY, s.INFERENCE_TORCH_THREADS, s.INFERENCE_BATCH_SIZE)"
    out = Stack(var_dir, 0).manage("shell", "-c", code).split()
    return int(out[-3]), int(out[-2]), int(out[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--checkpoint", type=checkpoint_dir, default=str(CHECKPOINT), help=CHECKPOINT_HELP
    )
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--docs", type=int, default=200)
    p.add_argument("--rounds", type=int, default=2, help="end-to-end passes per stack")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--precision", default="auto", help="INFERENCE_PRECISION of the stack")
    p.add_argument("--processes", type=int, help="default: the stack's INFERENCE_CONCURRENCY")
    p.add_argument("--threads", type=int, help="default: its INFERENCE_TORCH_THREADS")
    p.add_argument("--batch-size", type=int, help="default: its INFERENCE_BATCH_SIZE")
    p.add_argument("--port", type=int, default=8130)
    p.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    p.add_argument("--var", default=str(ROOT / "var" / "bench" / "serve"))
    args = p.parse_args()
    processes, threads, batch = serving_defaults(Path(args.var))
    args.processes, args.threads = args.processes or processes, args.threads or threads
    args.batch_size = args.batch_size or batch
    with open(Path(args.data) / "test.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line)["article"] for line in f][: args.docs]
    alone = summarizer_alone(args, texts)
    log(
        f"summarizer alone: {alone} ({args.processes} x {args.threads} threads, "
        f"batches of {args.batch_size})"
    )
    results: dict[str, Any] = {"date": now(), "args": vars(args)}
    for name in args.configs:
        results[name] = run_config(name, args, texts, alone)
    if SYNC in results and "embedded" in results:
        new, old = (results[n]["submissions"]["req_per_s"] for n in ("embedded", SYNC))
        results["submissions_req_per_s_vs_2x1"] = round(new / old, 2)
    print(json.dumps(results, indent=2))
    Path(args.var, "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
