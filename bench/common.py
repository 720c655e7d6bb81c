"""What the benchmark scripts share: logging, the results file, data, progress, test runs."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from ml.evaluate import evaluate
from ml.text.data import Example, load_examples

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "cnndm"
# The serving benchmarks' model: what BENCHMARKS.md ("Serving") trains with bench.train_bertsumext.
CHECKPOINT = ROOT / "var" / "bench" / "serve-bertsumext" / "best"
CHECKPOINT_HELP = "a BertSumExt checkpoint directory (default: %(default)s)"


def checkpoint_dir(value: str) -> str:
    """argparse type: an existing checkpoint directory, else a message saying how to get one."""
    import argparse

    if not (Path(value) / "config.json").is_file():
        raise argparse.ArgumentTypeError(
            f"{value} is not a checkpoint directory (no config.json); train one as BENCHMARKS.md "
            "'Serving' says (python -m bench.train_bertsumext --out var/bench/serve-bertsumext) "
            "or pass --checkpoint DIR"
        )
    return value


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}"


class Results(dict):
    """OUT/results.json: this run's facts over what an earlier run of OUT left there."""

    def __init__(self, out: Path, args: Any, script: str) -> None:
        self.path = out / "results.json"
        earlier = json.loads(self.path.read_text()) if self.path.exists() else {}
        super().__init__(earlier)
        self.update(
            date=now(),
            machine=f"{platform.processor() or platform.machine()}, "
            f"{torch.get_num_threads()} torch threads, torch {torch.__version__}",
            command=" ".join([".venv/bin/python", "-m", script, *sys.argv[1:]]),
            args=vars(args),
        )

    def save(self) -> None:
        self.path.write_text(json.dumps(self, indent=2))


def load_splits(
    data: Path, train_limit: int | None, val_limit: int | None, test_limit: int | None
) -> tuple[list[Example], list[Example], list[Example]]:
    train = load_examples(data / "train.jsonl", limit=train_limit)
    val = load_examples(data / "validation.jsonl", limit=val_limit)
    test = load_examples(data / "test.jsonl", limit=test_limit)
    log(f"data: train {len(train)}, validation {len(val)}, test {len(test)}")
    return train, val, test


def data_report(report: Any) -> dict[str, Any]:
    """A ``ml.training.results.DataReport`` as JSON (document ids counted)."""
    return {
        "documents": report.documents,
        "used": report.used,
        "skipped": {k: len(v) for k, v in report.skipped.items()},
        "sentences": report.sentences,
        "sentences_cut": report.sentences_cut,
        "positive_labels": report.positive_labels,
        "positive_labels_cut": report.positive_labels_cut,
    }


def progress_logger(every: int) -> Callable[[int, int, float], None]:
    """``on_progress`` that logs every ``every`` steps with the seconds since the last."""
    last = [time.perf_counter()]

    def progress(step: int, total: int, loss: float) -> None:
        if step % every == 0 or step == total:
            moment = time.perf_counter()
            log(f"step {step}/{total} loss {loss:.4f} ({moment - last[0]:.0f}s)")
            last[0] = moment

    return progress


def config_summary(config: Any) -> dict[str, Any]:
    """A train config as JSON, without the (long) encoder config."""
    model = {k: v for k, v in config.model.to_dict().items() if k != "encoder_config"}
    return config.to_dict() | {"model": model}


def training_summary(result: Any, config: Any, **extra: Any) -> dict[str, Any]:
    return {
        "stopped": result.stopped,
        "steps": result.steps,
        **extra,
        "best_dir": str(result.best_dir),
        "metrics": result.metrics,
        "history": result.history,
        "config": config_summary(config),
    }


def evaluate_systems(
    results: Results,
    systems: Sequence[tuple[str, Any]],
    test_data: list[Example],
    extra: Callable[[Any, Any], dict[str, Any]] | None = None,
) -> None:
    """Test ROUGE of every system through the same evaluator, saved after each."""
    results["test"] = results.get("test", {})
    for name, system in systems:
        start = time.perf_counter()
        scores = evaluate(system, test_data)
        results["test"][name] = {
            **scores.as_dict(),
            "n": scores.n,
            "seconds": time.perf_counter() - start,
            **(extra(system, scores) if extra is not None else {}),
        }
        results.save()
        log(f"test {name}: {results['test'][name]}")
