"""Benchmark: train BertSumExt on CNN train.jsonl (CPU), select on validation, report on test.

One run does everything, so every number stands beside its baselines measured on
the same machine at the same time:

1. throughput: a plain default-settings training loop (fp32, the encoder's own
   attention dropout, no autocast) against our settings, on the same real batches;
2. training with ``ml.models.bertsumext.train.train`` under a time budget, validating on the first
   ``--val-limit`` validation documents and keeping the best checkpoint;
3. test.jsonl: the best checkpoint (long documents in windows and truncated),
   Lead-3, TextRank and the greedy oracle, all through ``ml.evaluate.evaluate``.

Usage (from the repository root):

    nohup .venv/bin/python -m bench.train_bertsumext --max-minutes 85 \
        > var/bench/bertsumext.log 2>&1 &

The data is read from ../shared/data/cnndm (never copied into the repository).
``--eval-only`` re-runs step 3 on an existing OUT/best.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import (
    DATA,
    ROOT,
    Results,
    data_report,
    evaluate_systems,
    load_splits,
    log,
    progress_logger,
    training_summary,
)
from ml.encoders import load_tokenizer
from ml.models.bertsumext.config import BertSumExtConfig, TrainConfig
from ml.models.bertsumext.features import cached_features, collate
from ml.models.bertsumext.model import BertSumExt
from ml.models.bertsumext.summarizer import Summarizer
from ml.models.bertsumext.train import train, training_windows
from ml.precision import autocast_context
from ml.text.baselines import Lead, Oracle, TextRank

PLAIN = "plain (fp32, attention dropout 0.1)"


def step_seconds(
    config: BertSumExtConfig, precision: str, batches: list, steps: int, device: torch.device
) -> float:
    """Mean seconds per optimizer step of a plain loop, after warm-up steps (CUDA needs
    several: its first autocast steps pick and load kernels)."""
    warmup = 3 if device.type == "cuda" else 1
    torch.manual_seed(0)
    model = BertSumExt.from_pretrained_encoder(config).train().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    times = []
    for i in range(steps + warmup):
        batch = batches[i % len(batches)].to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with autocast_context(device, precision):
            logits = model(batch)
        loss = BertSumExt.loss(logits, batch.labels, batch.sentence_mask)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--out", default=str(ROOT / "var" / "bench" / "bertsumext"))
    p.add_argument("--cache", default=str(ROOT / "var" / "cache" / "bertsumext"))
    p.add_argument("--max-minutes", type=float, default=85.0, help="training budget")
    p.add_argument("--val-limit", type=int, default=200)
    p.add_argument("--evals", type=int, default=4, help="validations during training")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--train-limit", type=int, default=None, help="dry runs only")
    p.add_argument("--throughput-steps", type=int, default=3)
    p.add_argument("--test-limit", type=int, default=None, help="dry runs only")
    p.add_argument("--eval-only", action="store_true")
    p.add_argument(
        "--throughput-only",
        action="store_true",
        help="only compare training-step settings (plain, attention dropout 0, bf16), "
        "interleaved over --rounds rounds",
    )
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--no-resume", action="store_true")


def _add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--epochs",
        type=float,
        default=1.0,
        help="schedule length; --max-minutes stops earlier on a slower (shared) machine",
    )
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=7e-5)
    p.add_argument("--head-lr", type=float, default=5e-4)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--precision", default="fp32", help="fp32, bf16, fp16 (CUDA) or auto")
    p.add_argument("--encoder", default=None, help="default: the packaged all-MiniLM-L6-v2")
    p.add_argument("--attention-dropout", type=float, default=0.0)
    p.add_argument("--sentence-pooling", choices=("cls", "mean"), default="cls")
    p.add_argument(
        "--train-windows",
        choices=("first", "all"),
        default="first",
        help="first: PreSumm's cut at 512 tokens; all: every window of long documents",
    )
    p.add_argument("--init-from", default=None, help="continue from a trained checkpoint dir")
    p.add_argument("--probe-epochs", type=int, default=0, help="head alone first (LP-FT)")
    p.add_argument("--probe-lr", type=float, default=1e-3)
    p.add_argument(
        "--average-checkpoints", type=int, default=0, help="try the mean of the last 2..N evals"
    )
    p.add_argument("--seed", type=int, default=1, help="data order and initialisation")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _add_run_arguments(p)
    _add_training_arguments(p)
    return p.parse_args()


def throughput_variants(
    args: argparse.Namespace, batches: list, encoder: dict, device: torch.device, results: Results
) -> int:
    """--throughput-only: docs/s of four settings, interleaved over --rounds rounds."""
    bs = args.batch_size
    dropout0 = BertSumExtConfig(attention_dropout=0.0, **encoder)
    variants = {
        PLAIN: (BertSumExtConfig(**encoder), "fp32"),
        "fp32, attention dropout 0": (dropout0, "fp32"),
        "bf16 autocast, attention dropout 0.1": (BertSumExtConfig(**encoder), "bf16"),
        "bf16 autocast, attention dropout 0": (dropout0, "bf16"),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):  # interleaved: load changes hit every variant
        for name, (cfg, precision) in variants.items():
            seconds[name].append(
                step_seconds(cfg, precision, batches, args.throughput_steps, device)
            )
            log(f"round {r}: {name}: {bs / seconds[name][-1]:.2f} docs/s")
    base = sum(seconds[PLAIN])
    results["throughput_variants"] = {
        "batch_size": bs,
        "steps_per_round": args.throughput_steps,
        "rounds": args.rounds,
        "docs_per_s": {n: bs * len(s) / sum(s) for n, s in seconds.items()},
        "speedup_vs_plain": {n: base / sum(s) for n, s in seconds.items()},
    }
    results.save()
    print(json.dumps(results["throughput_variants"], indent=2))
    return 0


def throughput(
    args: argparse.Namespace,
    batches: list,
    configs: tuple[BertSumExtConfig, BertSumExtConfig],
    device: torch.device,
    results: Results,
) -> None:
    """1. Docs/s of a plain default-settings loop against ours, on the same batches."""
    bs, timed = args.batch_size, args.throughput_steps
    plain_config, ours_config = configs
    plain = step_seconds(plain_config, "fp32", batches, timed, device)
    ours = step_seconds(ours_config, args.precision, batches, timed, device)
    results["throughput"] = {
        "batch_size": bs,
        "plain_default_docs_per_s": bs / plain,
        "ours_docs_per_s": bs / ours,
        "speedup": plain / ours,
        "ours_settings": f"{args.precision}, attention dropout {args.attention_dropout}",
    }
    log(f"throughput: plain {bs / plain:.2f} docs/s, ours {bs / ours:.2f} docs/s")
    results.save()


def train_config(
    args: argparse.Namespace, model_config: BertSumExtConfig, windows: int
) -> TrainConfig:
    """The schedule is --epochs long; max_minutes is the hard stop (the machine is
    shared, so the step time measured above is only a guess)."""
    steps = max(10, int(args.epochs * windows / args.batch_size))
    eval_every = max(1, -(-steps // args.evals))  # ceil: the last one is the end
    return TrainConfig(
        model=model_config,
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        warmup_steps=args.warmup_steps,
        max_steps=steps,
        max_minutes=args.max_minutes,
        eval_every=eval_every,
        # Averaging takes the last checkpoints: make them the validation points.
        checkpoint_every=eval_every if args.average_checkpoints else 100,
        precision=args.precision,
        val_limit=args.val_limit,
        cache_dir=args.cache,
        eval_batch_size=16,
        init_from=args.init_from,
        probe_epochs=args.probe_epochs,
        probe_lr=args.probe_lr,
        average_checkpoints=args.average_checkpoints,
        seed=args.seed,
        train_windows=args.train_windows,
    )


def train_and_measure(
    args: argparse.Namespace,
    model_config: BertSumExtConfig,
    data: tuple[list, list],
    device: torch.device,
    results: Results,
) -> int | None:
    """Steps 1 and 2 (an exit status with --throughput-only, else None)."""
    train_data, val_data = data
    encoder = {"encoder": args.encoder} if args.encoder else {}
    tokenizer = load_tokenizer(model_config.encoder)
    start = time.perf_counter()
    docs = cached_features(train_data, tokenizer, model_config, True, args.cache)
    windows, report = training_windows(docs, tokenizer, model_config, args.train_windows)
    log(f"features: {len(windows)} windows in {time.perf_counter() - start:.0f}s")
    results["data_report"] = data_report(report)
    bs = args.batch_size
    batches = [
        collate(windows[i * bs : (i + 1) * bs], int(tokenizer.pad_token_id or 0))
        for i in range(args.throughput_steps + 1)
    ]
    if args.throughput_only:
        return throughput_variants(args, batches, encoder, device, results)
    if not args.skip_throughput:
        configs = (BertSumExtConfig(**encoder), model_config)
        throughput(args, batches, configs, device, results)
    out = Path(args.out)
    config = train_config(args, model_config, len(windows))
    log(f"training: {config.max_steps} steps planned, eval every {config.eval_every}")
    result = train(
        config,
        train_data,
        val_data,
        out,
        out / "tensorboard",
        on_progress=progress_logger(20),
        device=device,
        resume=not args.no_resume,
    )
    results["training"] = training_summary(result, config)
    results.save()
    log(f"training done: {result.stopped}, best {result.metrics}")
    return None


def test_systems(best: Path, device: torch.device) -> list[tuple[str, Any]]:
    """3. The best checkpoint (long documents in windows and truncated) and the baselines."""
    eval_precision = "fp32" if device.type == "cpu" else "auto"
    return [
        ("bertsumext (windows)", Summarizer.load(best, device, 16, eval_precision, "windows")),
        (
            "bertsumext (truncate at 512)",
            Summarizer.load(best, device, 16, eval_precision, "truncate"),
        ),
        ("lead3", Lead()),
        ("textrank", TextRank()),
        ("oracle", Oracle()),
    ]


def main() -> int:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    results = Results(out, args, "bench.train_bertsumext")
    train_data, val_data, test_data = load_splits(
        Path(args.data), args.train_limit, None, args.test_limit
    )
    device = torch.device(args.device)
    encoder = {"encoder": args.encoder} if args.encoder else {}
    model_config = BertSumExtConfig(
        attention_dropout=args.attention_dropout,
        sentence_pooling=args.sentence_pooling,
        **encoder,
    )
    if not args.eval_only:
        status = train_and_measure(args, model_config, (train_data, val_data), device, results)
        if status is not None:
            return status
    evaluate_systems(results, test_systems(out / "best", device), test_data)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
