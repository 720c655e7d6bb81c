"""Benchmark: MatchSum on top of the BertSumExt benchmark checkpoint (CPU), report on test.

One run does everything, so every number stands beside its baselines measured on
the same machine at the same time:

1. pooling: with ``--pooling auto``, the untrained encoder's validation ROUGE with
   [CLS] pooling (the paper) and mean pooling (how all-MiniLM-L6-v2 was trained) on
   the first ``--pooling-docs`` validation documents; training uses the better one;
2. training with ``ml.matchsum_train.train_matchsum`` under a time budget on the
   first ``--train-limit`` CNN training stories, validating on the first
   ``--val-limit`` validation documents and keeping the best checkpoint;
3. test.jsonl: MatchSum, its own BertSumExt extractor, Lead-3 and TextRank through
   ``ml.evaluate.evaluate``, with the seconds spent inside ``summarize`` per system,
   so the inference cost of MatchSum relative to BertSumExt is measured in the same run.

Usage (from the repository root):

    nohup .venv/bin/python bench/train_matchsum.py --max-minutes 25 \
        > var/bench/matchsum.log 2>&1 &

The data is read from ../shared/data/cnndm (never copied into the repository).
``--eval-only`` re-runs step 3 on an existing OUT/best.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ml.baselines import Lead, TextRank  # noqa: E402
from ml.data import load_examples  # noqa: E402
from ml.encoders import load_tokenizer  # noqa: E402
from ml.evaluate import evaluate  # noqa: E402
from ml.inference import Summarizer  # noqa: E402
from ml.matchsum import MatchSum, MatchSumConfig  # noqa: E402
from ml.matchsum_data import build_documents, extractor_fingerprint  # noqa: E402
from ml.matchsum_inference import MatchSumSummarizer  # noqa: E402
from ml.matchsum_train import MatchSumTrainConfig, train_matchsum, validate_matchsum  # noqa: E402


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


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
    extractor = Summarizer.load(extractor_dir, "cpu", 16, config.precision)
    docs = build_documents(examples, extractor, config.model, max_sentences=3)
    tokenizer = load_tokenizer(config.model.encoder)
    out = {}
    for pooling in ("cls", "mean"):
        model_config = MatchSumConfig(**{**config.model.to_dict(), "pooling": pooling})
        model = MatchSum.from_pretrained_encoder(model_config)
        result = validate_matchsum(model, tokenizer, docs, examples, torch.device("cpu"), config)
        out[pooling] = result.metrics
        log(f"zero-shot {pooling}: {result.metrics}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cnndm"))
    p.add_argument("--extractor", default=str(ROOT / "var" / "bench" / "bertsumext" / "best"))
    p.add_argument("--out", default=str(ROOT / "var" / "bench" / "matchsum"))
    p.add_argument("--cache", default=str(ROOT / "var" / "cache" / "matchsum"))
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
    args = p.parse_args()

    data = Path(args.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extractor_dir = Path(args.extractor)
    results: dict = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "args": vars(args),
    }
    results_path = out / "results.json"
    if results_path.exists():
        results = {**json.loads(results_path.read_text()), **results}

    def save() -> None:
        results_path.write_text(json.dumps(results, indent=2))

    train_data = load_examples(data / "train.jsonl", limit=args.train_limit)
    val_data = load_examples(data / "validation.jsonl", limit=args.val_limit)
    test_data = load_examples(data / "test.jsonl", limit=args.test_limit)
    log(f"data: train {len(train_data)}, validation {len(val_data)}, test {len(test_data)}")

    model_config = MatchSumConfig(
        pooling="cls" if args.pooling == "auto" else args.pooling,
        attention_dropout=args.attention_dropout,
        max_candidate_tokens=args.max_candidate_tokens,
    )
    steps = max(10, int(args.epochs * len(train_data) / args.batch_size))
    config = MatchSumTrainConfig(
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
    if not args.eval_only:
        if args.pooling == "auto":
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
                "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
            }
            save()
            log(f"pooling: {best}")
            if args.pooling_only:
                return 0
        log(f"training: {steps} steps planned, eval every {config.eval_every}")
        last = [time.perf_counter()]

        def progress(step: int, total: int, loss: float) -> None:
            if step % 10 == 0 or step == total:
                now = time.perf_counter()
                log(f"step {step}/{total} loss {loss:.4f} ({now - last[0]:.0f}s)")
                last[0] = now

        import logging

        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
        start = time.perf_counter()
        result = train_matchsum(
            config,
            train_data,
            val_data,
            out,
            out / "tensorboard",
            on_progress=progress,
            resume=not args.no_resume,
            extractor_dir=extractor_dir,
        )
        results["training"] = {
            "stopped": result.stopped,
            "steps": result.steps,
            "seconds": time.perf_counter() - start,
            "best_dir": str(result.best_dir),
            "metrics": result.metrics,
            "history": result.history,
            "data_report": {
                "documents": result.data.documents,
                "used": result.data.used,
                "skipped": {k: len(v) for k, v in result.data.skipped.items()},
                "sentences": result.data.sentences,
                "sentences_cut": result.data.sentences_cut,
                "positive_labels": result.data.positive_labels,
                "positive_labels_cut": result.data.positive_labels_cut,
            },
            "config": config.to_dict()
            | {"model": {k: v for k, v in config.model.to_dict().items() if k != "encoder_config"}},
        }
        save()
        log(f"training done: {result.stopped}, best {result.metrics}")

    # 3. Test set: everything through the same evaluator; summarize() time per system.
    best_dir = out / "best"
    matchsum = Timed(MatchSumSummarizer.load(best_dir, "cpu", 32, "fp32"))
    bertsumext = Timed(Summarizer.load(best_dir / "extractor", "cpu", 16, "fp32"))
    systems = [
        ("matchsum", matchsum),
        ("bertsumext (its extractor)", bertsumext),
        ("lead3", Timed(Lead())),
        ("textrank", Timed(TextRank())),
    ]
    results["test"] = {}
    for name, system in systems:
        start = time.perf_counter()
        scores = evaluate(system, test_data)
        results["test"][name] = {
            **scores.as_dict(),
            "n": scores.n,
            "seconds": time.perf_counter() - start,
            "summarize_s_per_doc": system.seconds / scores.n,
        }
        save()
        log(f"test {name}: {results['test'][name]}")
    results["extractor_sha256"] = extractor_fingerprint(best_dir / "extractor")
    results["inference_cost"] = {
        "matchsum_s_per_doc": matchsum.seconds / len(test_data),
        "bertsumext_s_per_doc": bertsumext.seconds / len(test_data),
        "matchsum_over_bertsumext": matchsum.seconds / max(bertsumext.seconds, 1e-9),
    }
    save()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
