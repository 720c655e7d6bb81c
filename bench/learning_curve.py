"""Benchmark: a team moves to a new domain; how many labelled documents until the model beats
Lead-3 and the model it started from on that domain?

The documents of ``--data`` (JSON Lines, ``{"id", "article", "highlights"}``) are split in
file order: the last ``--heldout`` are the held-out test set, the ``--val-docs`` before
them the validation split every run selects its checkpoint on, and the first ones the pool
of training documents: size k trains on the first k (nested sets). Their reference-derived
oracle labels stand in for staff labels. For each size the documents go through the
service's own training path, in a throwaway SQLite database under ``--out``:
``import_examples`` into the train and validation splits, the starting checkpoint made the
active version by a staff promote, ``launch_retraining(from_active=True)`` (fine-tuning the
active version; without ``--start``, ``start_training`` from the pretrained encoder), and
the training worker's body (``jobs.workers.train.run``, in this process). The checkpoint the
run produced is evaluated directly, whatever the promotion gate decided.

Every system (Lead-3, TextRank, the starting model, each size's model) summarizes the same
held-out documents, cut to their first ``--max-doc-sentences`` sentences (training and
validation documents too), in 3 sentences; ROUGE-1/2/Lsum F1 with paired bootstrap 95%
intervals (ml.stats.paired_bootstrap) against Lead-3 and against the starting model.

    nice -n 10 .venv/bin/python -m bench.learning_curve \\
        --data ../shared/data/domains/en_dialogsum_test.jsonl \\
        --start ../ckpt/bertsumext-cnn/best > var/bench/learning-curve-dialogsum.log 2>&1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import ROOT, checkpoint_dir, log, now
from bench.paired_bootstrap import METRICS
from ml.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, paired_bootstrap_result
from ml.text.data import Example, iter_batches, load_examples
from ml.text.rouge import score_summary
from ml.text.sentences import split_sentences

SUMMARY_SENTENCES = 3
KIND = "bertsumext"
MEAN = "rouge"  # the mean of ROUGE-1/2/Lsum F1, the gate's measure
BENCH_USER = "learning-curve"
DOMAINS = ROOT.parent / "shared" / "data" / "domains"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DOMAINS / "en_dialogsum_test.jsonl"), help="JSON Lines")
    p.add_argument("--start", type=checkpoint_dir, default=None, help="starting checkpoint dir")
    p.add_argument("--sizes", type=int, nargs="+", default=[0, 25, 50, 100, 200])
    p.add_argument("--heldout", type=int, default=100, help="the last N documents: test set")
    p.add_argument("--val-docs", type=int, default=20, help="validation split of every run")
    p.add_argument(
        "--max-doc-sentences",
        type=int,
        default=20,
        help="cut every document to its first N sentences (0: whole documents)",
    )
    p.add_argument("--epochs", type=float, default=3.0, help="passes over a size's documents")
    p.add_argument("--max-minutes", type=float, default=8.0, help="training budget per size")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--evals", type=int, default=2, help="validations per run")
    p.add_argument(
        "--params", type=json.loads, default={}, help="more training params (JSON), as the API"
    )
    p.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="bootstrap seed")
    p.add_argument("--out", default=None, help="default: var/bench/learning-curve/DATA-STEM")
    p.add_argument("--keep-runs", action="store_true", help="keep each run's checkpoints")
    args = p.parse_args(argv)
    if min(args.sizes) < 0 or args.heldout < 1 or args.val_docs < 1:
        p.error("sizes must be >= 0, --heldout and --val-docs >= 1")
    if not Path(args.data).is_file():
        p.error(f"--data {args.data}: no such file")
    args.out = args.out or str(ROOT / "var" / "bench" / "learning-curve" / Path(args.data).stem)
    return args


# --- data ---------------------------------------------------------------------------------


def cut(example: Example, max_sentences: int) -> Example:
    """The example's first `max_sentences` sentences (as the summarizers split them)."""
    if max_sentences <= 0:
        return example
    spans = split_sentences(example.text)
    if len(spans) <= max_sentences:
        return example
    return replace(example, text=example.text[: spans[max_sentences - 1].end])


def split_domain(
    examples: list[Example], heldout: int, val_docs: int
) -> tuple[list[Example], list[Example], list[Example]]:
    """(training pool, validation, held-out) in file order; the held-out set is the last."""
    if heldout + val_docs >= len(examples):
        raise ValueError(
            f"{len(examples)} documents: not enough for {heldout} held-out and {val_docs} "
            "validation documents and a training pool"
        )
    test_from = len(examples) - heldout
    val_from = test_from - val_docs
    return examples[:val_from], examples[val_from:test_from], examples[test_from:]


# --- the service's training path -----------------------------------------------------------


def setup_django(var: Path) -> None:
    """Django on a fresh SQLite database and embedded Redis socket under `var`."""
    if var.exists():
        shutil.rmtree(var)
    var.mkdir(parents=True)
    for name in ("DATABASE_URL", "REDIS_URL", "TRAINING_DEFAULTS", "TRAINING_DIR"):
        os.environ.pop(name, None)
    os.environ.update(
        SUMMARIZER_VAR_DIR=str(var),
        SUMMARIZER_DOTENV="",
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.local",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def staff_user() -> Any:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True}
    )
    return user


def register_start(start: str, by: Any) -> Any:
    """The starting checkpoint as a model version made active by a staff promote."""
    from jobs.models import ModelVersion
    from jobs.services.versions import promote
    from jobs.workers.training_checkpoints import checkpoint_sha256

    version = ModelVersion.objects.create(
        kind=KIND,
        checkpoint_dir=str(Path(start).resolve()),
        checkpoint_sha256=checkpoint_sha256(Path(start)),
        description="learning-curve bench: the starting model",
    )
    promote(version, by, reason="learning-curve bench: the model the team starts from")
    return version


def training_params(args: argparse.Namespace, size: int) -> dict[str, Any]:
    """A size's budget: --epochs x documents / batch steps (a document cut into more than
    one window gets fewer passes over its windows), stopped at --max-minutes; validation
    --evals times; warmup a tenth of the steps."""
    steps = max(1, math.ceil(args.epochs * size / args.batch_size))
    return {
        "batch_size": args.batch_size,
        "max_steps": steps,
        "max_minutes": args.max_minutes,
        "eval_every": max(1, math.ceil(steps / args.evals)),
        "warmup_steps": max(1, steps // 10),
        "projector_documents": 0,
        **args.params,
    }


def train_size(
    args: argparse.Namespace, docs: tuple[list[Example], list[Example]], start: Any, by: Any
) -> Any:
    """One size through the product: import, (re)activate the start, launch, train."""
    from jobs.models import Document
    from jobs.services.documents import import_examples
    from jobs.services.training import RetrainingRequest, launch_retraining, start_training
    from jobs.services.versions import promote
    from jobs.workers import train as train_worker

    train, val = docs
    Document.objects.all().delete()  # each size starts from the same state
    import_examples(by, train, "train")
    import_examples(by, val, "validation")
    params = training_params(args, len(train))
    if start is not None:
        start.refresh_from_db()
        if not start.is_active:  # the previous size's model passed the gate
            promote(start, by, reason="learning-curve bench: back to the starting model")
        run = launch_retraining(RetrainingRequest(KIND, params, from_active=True), by)
    else:
        run = start_training(KIND, params=params, triggered_by=by)
    train_worker.run(run.pk)
    run.refresh_from_db()
    return run


# --- measuring ------------------------------------------------------------------------------


def scores_of(system: Any, heldout: list[Example]) -> list[dict[str, float]]:
    """Each held-out document's ROUGE F1 (x 100) of `system`'s summary, and their mean."""
    scores = []
    for batch in iter_batches(heldout, 16):
        summaries = system.summarize([e.text for e in batch], SUMMARY_SENTENCES)
        for example, summary in zip(batch, summaries, strict=True):
            s = score_summary([s.text for s in summary.selected], example.reference)
            scores.append(s | {MEAN: sum(s[m] for m in METRICS) / len(METRICS)})
    return scores


def checkpoint_scores(directory: str, heldout: list[Example]) -> list[dict[str, float]]:
    from jobs.workers.training_checkpoints import training_device
    from ml.registry import load_system

    return scores_of(load_system(directory, training_device()), heldout)


def row(
    name: str, scores: list[dict[str, float]], against: dict[str, list], args: argparse.Namespace
) -> dict[str, Any]:
    """A system's mean scores and its paired intervals against each reference system."""
    means = {m: sum(s[m] for s in scores) / len(scores) for m in (*METRICS, MEAN)}
    result: dict[str, Any] = {"system": name, "n": len(scores), **means}
    for other, other_scores in against.items():
        if other_scores is not scores:
            result[f"vs_{other}"] = {m: paired(scores, other_scores, m, args) for m in means}
    return result


def paired(a: list[dict], b: list[dict], metric: str, args: argparse.Namespace) -> dict:
    """The paired bootstrap (ml.stats) of a - b on one metric."""
    x = paired_bootstrap_result(
        [s[metric] for s in a], [s[metric] for s in b], args.resamples, args.seed
    )
    return {"difference": x.mean_difference, "ci95": [x.low, x.high]}


def interval(r: dict[str, Any], other: str) -> str:
    if f"vs_{other}" not in r:
        return "-"
    d = r[f"vs_{other}"][MEAN]
    lo, hi = d["ci95"]
    mark = "+" if lo > 0 else ("-" if hi < 0 else "~")
    return f"{d['difference']:+.2f} [{lo:+.2f}, {hi:+.2f}] {mark}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'system':<22}{'docs':>5}{'R1':>7}{'R2':>7}{'RLsum':>7}{'mean':>7}"
    print(f"{head}  {'vs lead3 (mean, 95% CI)':<30}  vs start (mean, 95% CI)")
    for r in rows:
        if "skipped" in r or "error" in r:
            print(f"{r['system']:<22}{r.get('size', ''):>5}  {r.get('skipped') or r['error']}")
            continue
        scores = "".join(f"{r[m]:7.2f}" for m in (*METRICS, MEAN))
        lead3, start = interval(r, "lead3"), interval(r, "start")
        print(f"{r['system']:<22}{r.get('size', ''):>5}{scores}  {lead3:<30}  {start}")


# --- the curve ------------------------------------------------------------------------------


def baseline_rows(
    args: argparse.Namespace, heldout: list[Example], against: dict[str, list]
) -> list[dict[str, Any]]:
    """Lead-3, TextRank and the starting model on the held-out documents."""
    from ml.text.baselines import get_baseline

    against["lead3"] = scores_of(get_baseline("lead3"), heldout)
    systems = {"textrank": scores_of(get_baseline("textrank"), heldout)}
    if args.start:
        against["start"] = checkpoint_scores(args.start, heldout)
    rows = [row(name, scores, against, args) for name, scores in {**against, **systems}.items()]
    return [r | {"size": 0} if r["system"] == "start" else r for r in rows]


def size_row(
    args: argparse.Namespace, size: int, data: tuple, against: dict[str, list], context: tuple
) -> dict[str, Any]:
    """Train one size through the service and measure what its run produced."""
    pool, val, heldout = data
    start, by = context
    name = f"{'start' if args.start else 'encoder'} + {size} docs"
    if size > len(pool):
        return {"system": name, "size": size, "skipped": f"only {len(pool)} training documents"}
    began = time.perf_counter()
    run = train_size(args, (pool[:size], val), start, by)
    seconds = time.perf_counter() - began
    facts = {"size": size, "run": run.pk, "status": run.status, "train_seconds": round(seconds)}
    if run.status != "succeeded":
        return {"system": name, **facts, "error": f"run {run.status}: {run.error}"}
    version = run.version
    facts |= {
        "steps": run.progress_step,
        "stopped": run.metrics.get("stopped"),
        "validation_rouge": run.metrics.get("val_rouge"),
        "promoted_by_gate": version.is_active,
        "gate_note": version.gate_note,
    }
    result = {**row(name, checkpoint_scores(version.checkpoint_dir, heldout), against, args)}
    if not args.keep_runs:
        shutil.rmtree(run.out_dir, ignore_errors=True)
    return result | facts


def load_domain(args: argparse.Namespace) -> tuple[list[Example], list[Example], list[Example]]:
    """(training pool, validation, held-out), every document cut; ValueError if too few."""
    examples = [cut(e, args.max_doc_sentences) for e in load_examples(args.data)]
    return split_domain(examples, args.heldout, args.val_docs)


def run_curve(args: argparse.Namespace, data: tuple) -> dict[str, Any]:
    """The whole curve in the current Django database; prints a JSON line per system."""
    pool, val, heldout = data
    log(f"data: {len(pool)} training pool, {len(val)} validation, {len(heldout)} held-out")
    results: dict[str, Any] = {
        "date": now(),
        "command": " ".join([".venv/bin/python", "-m", "bench.learning_curve", *sys.argv[1:]]),
        "data": args.data,
        "start": args.start,
        "n_heldout": len(heldout),
        "validation_documents": len(val),
        "max_doc_sentences": args.max_doc_sentences,
        "summary_sentences": SUMMARY_SENTENCES,
        "rows": [],
    }
    against: dict[str, list] = {}
    by = staff_user()
    start = register_start(args.start, by) if args.start else None
    for r in baseline_rows(args, heldout, against):
        results["rows"].append(r)
        print(json.dumps(r), flush=True)
    for size in sorted(set(args.sizes) - {0}):
        log(f"size {size}: training ({training_params(args, size)})")
        r = size_row(args, size, (pool, val, heldout), against, (start, by))
        results["rows"].append(r)
        print(json.dumps(r), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data = load_domain(args)
    except ValueError as exc:
        print(f"learning_curve: {exc}", file=sys.stderr)
        return 2
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the embedded Redis is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = Path(args.out).resolve()  # the Redis socket's path is read from Redis's own dir
    setup_django(out)
    from devstack import embedded_redis

    # The broker only receives the runs' task messages; this process runs their bodies.
    embedded_redis.run_dir().mkdir(parents=True, exist_ok=True)
    with embedded_redis.running(out / "log" / "redis.log"):
        results = run_curve(args, data)
    cut_note = (
        f"first {args.max_doc_sentences} sentences of every document"
        if args.max_doc_sentences
        else "whole documents"
    )
    print(
        f"\n{args.data}: n={results['n_heldout']} held-out documents ({cut_note}), "
        f"{SUMMARY_SENTENCES}-sentence summaries, ROUGE F1 x 100; intervals: paired bootstrap "
        f"95% over documents of the mean of R1/R2/RLsum (+: excludes 0 above, -: below)"
    )
    print_table(results["rows"])
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
