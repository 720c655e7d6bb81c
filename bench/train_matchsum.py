"""Benchmark: MatchSum on top of the BertSumExt benchmark checkpoint (CPU), report on test.

One run does everything, so every number stands beside its baselines measured on
the same machine at the same time:

1. pooling: with ``--pooling auto``, the untrained encoder's validation ROUGE with
   [CLS] pooling (the paper) and mean pooling (how all-MiniLM-L6-v2 was trained) on
   the first ``--pooling-docs`` validation documents; training uses the better one;
2. training with ``ml.models.matchsum.train.train_matchsum`` under a time budget on the
   first ``--train-limit`` CNN training stories, validating on the first
   ``--val-limit`` validation documents and keeping the best checkpoint;
3. test.jsonl: MatchSum, its own BertSumExt extractor, Lead-3 and TextRank through
   ``ml.evaluate.evaluate``, with the seconds spent inside ``summarize`` per system,
   so the inference cost of MatchSum relative to BertSumExt is measured in the same run.

Usage (from the repository root):

    nohup .venv/bin/python -m bench.train_matchsum --max-minutes 25 \
        > var/bench/matchsum.log 2>&1 &

The data is read from ../shared/data/cnndm (never copied into the repository).
``--eval-only`` re-runs step 3 on an existing OUT/best.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench import common
from ml.encoders import load_tokenizer
from ml.models.bertsumext.summarizer import Summarizer as BertSumExtSummarizer
from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.config import TrainConfig as MatchSumTrainConfig
from ml.models.matchsum.features import build_documents, extractor_fingerprint
from ml.models.matchsum.model import MatchSum
from ml.models.matchsum.summarizer import Summarizer as MatchSumSummarizer
from ml.models.matchsum.train import train as train_matchsum
from ml.models.matchsum.train import validate as validate_matchsum
from ml.text.baselines import Lead, TextRank


class Timed:
    """Wraps a system; counts the seconds spent inside ``summarize`` (ROUGE excluded)."""

    def __init__(self, system: Any) -> None:
        self.system = system
        self.name = getattr(system, "name", "?")
        self.seconds = 0.0

    def summarize(self, texts: list[str], max_sentences: int = 3) -> Any:
        start = time.perf_counter()
        out = self.system.summarize(texts, max_sentences)
        self.seconds += time.perf_counter() - start
        return out


def zero_shot_pooling(
    extractor_dir: Path, examples: list, config: MatchSumTrainConfig
) -> dict[str, dict[str, float]]:
    """Validation metrics of the untrained encoder with each pooling (same candidates)."""
    extractor = BertSumExtSummarizer.load(extractor_dir, "cpu", 16, config.precision)
    docs = build_documents(examples, extractor, config.model, max_sentences=3)
    tokenizer = load_tokenizer(config.model.encoder)
    out = {}
    for pooling in ("cls", "mean"):
        model_config = MatchSumConfig(**{**config.model.to_dict(), "pooling": pooling})
        model = MatchSum.from_pretrained_encoder(model_config)
        result = validate_matchsum(model, tokenizer, docs, examples, torch.device("cpu"), config)
        out[pooling] = result.metrics
        common.log(f"zero-shot {pooling}: {result.metrics}")
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(common.DATA))
    p.add_argument(
        "--extractor", default=str(common.ROOT / "var" / "bench" / "bertsumext" / "best")
    )
    p.add_argument("--out", default=str(common.ROOT / "var" / "bench" / "matchsum"))
    p.add_argument("--cache", default=str(common.ROOT / "var" / "cache" / "matchsum"))
    p.add_argument("--max-minutes", type=float, default=25.0, help="training-loop budget")
    p.add_argument("--train-limit", type=int, default=1200, help="first N training stories")
    p.add_argument("--val-limit", type=int, default=150)
    p.add_argument("--test-limit", type=int, default=None, help="dry runs only")
    p.add_argument("--pooling", choices=("auto", "cls", "mean"), default="auto")
    p.add_argument("--pooling-docs", type=int, default=100, help="validation docs for auto")
    p.add_argument("--evals", type=int, default=3, help="validations during training")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--attention-dropout", type=float, default=0.0)
    p.add_argument("--max-candidate-tokens", type=int, default=256)
    p.add_argument(
        "--pooling-only", action="store_true", help="only step 1 (kept in OUT/results.json)"
    )
    p.add_argument("--eval-only", action="store_true")
    p.add_argument("--no-resume", action="store_true")
    return p.parse_args()


def train_config(args: argparse.Namespace, train_documents: int) -> MatchSumTrainConfig:
    model_config = MatchSumConfig(
        pooling="cls" if args.pooling == "auto" else args.pooling,
        attention_dropout=args.attention_dropout,
        max_candidate_tokens=args.max_candidate_tokens,
    )
    steps = max(10, int(args.epochs * train_documents / args.batch_size))
    return MatchSumTrainConfig(
        model=model_config,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        max_steps=steps,
        max_minutes=args.max_minutes,
        eval_every=max(1, -(-steps // args.evals)),  # ceil: the last one is the end
        checkpoint_every=50,
        precision=args.precision,
        val_limit=args.val_limit,
        cache_dir=args.cache,
        eval_batch_size=32,
    )


def choose_pooling(
    args: argparse.Namespace, config: MatchSumTrainConfig, val_data: list, results: common.Results
) -> None:
    """1. With --pooling auto: the better zero-shot pooling becomes config.model.pooling."""
    extractor_dir = Path(args.extractor)
    start = time.perf_counter()
    zero = zero_shot_pooling(extractor_dir, val_data[: args.pooling_docs], config)
    best = max(zero, key=lambda k: zero[k].get("val_rouge", 0.0))
    config.model.pooling = best
    results["pooling"] = {
        "zero_shot": zero,
        "chosen": best,
        "documents": min(args.pooling_docs, len(val_data)),
        "seconds": time.perf_counter() - start,
        "extractor": str(extractor_dir),
        "extractor_sha256": extractor_fingerprint(extractor_dir),
        "date": common.now(),
    }
    results.save()
    common.log(f"pooling: {best}")


def train_run(
    args: argparse.Namespace,
    config: MatchSumTrainConfig,
    data: tuple[list, list],
    results: common.Results,
) -> None:
    """2. Training under the time budget; the best checkpoint lands in OUT/best."""
    common.log(f"training: {config.max_steps} steps planned, eval every {config.eval_every}")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
    out = Path(args.out)
    start = time.perf_counter()
    result = train_matchsum(
        config,
        *data,
        out,
        out / "tensorboard",
        on_progress=common.progress_logger(10),
        resume=not args.no_resume,
        extractor_dir=Path(args.extractor),
    )
    results["training"] = common.training_summary(
        result,
        config,
        seconds=time.perf_counter() - start,
        data_report=common.data_report(result.data),
    )
    results.save()
    common.log(f"training done: {result.stopped}, best {result.metrics}")


def test_run(best_dir: Path, test_data: list, results: common.Results) -> None:
    """3. Test ROUGE and summarize() seconds per document of every system."""
    matchsum = Timed(MatchSumSummarizer.load(best_dir, "cpu", batch_size=32, precision="fp32"))
    bertsumext = Timed(BertSumExtSummarizer.load(best_dir / "extractor", "cpu", 16, "fp32"))
    systems = [
        ("matchsum", matchsum),
        ("bertsumext (its extractor)", bertsumext),
        ("lead3", Timed(Lead())),
        ("textrank", Timed(TextRank())),
    ]
    results["test"] = {}

    def cost(system: Any, scores: Any) -> dict[str, Any]:
        return {"summarize_s_per_doc": system.seconds / scores.n}

    common.evaluate_systems(results, systems, test_data, cost)
    results["extractor_sha256"] = extractor_fingerprint(best_dir / "extractor")
    results["inference_cost"] = {
        "matchsum_s_per_doc": matchsum.seconds / len(test_data),
        "bertsumext_s_per_doc": bertsumext.seconds / len(test_data),
        "matchsum_over_bertsumext": matchsum.seconds / max(bertsumext.seconds, 1e-9),
    }
    results.save()


def main() -> int:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = common.Results(out, args, "bench.train_matchsum")
    train_data, val_data, test_data = common.load_splits(
        Path(args.data), args.train_limit, args.val_limit, args.test_limit
    )
    config = train_config(args, len(train_data))
    if not args.eval_only:
        if args.pooling == "auto":
            choose_pooling(args, config, val_data, results)
            if args.pooling_only:
                return 0
        train_run(args, config, (train_data, val_data), results)
    test_run(out / "best", test_data, results)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
