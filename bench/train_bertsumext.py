"""Benchmark: train BertSumExt on CNN train.jsonl (CPU), select on validation, report on test.

One run does everything, so every number stands beside its baselines measured on
the same machine at the same time:

1. throughput: a plain default-settings training loop (fp32, the encoder's own
   attention dropout, no autocast) against our settings, on the same real batches;
2. training with ``ml.train.train`` under a time budget, validating on the first
   ``--val-limit`` validation documents and keeping the best checkpoint;
3. test.jsonl: the best checkpoint (long documents in windows and truncated),
   Lead-3, TextRank and the greedy oracle, all through ``ml.evaluate.evaluate``.

Usage (from the repository root):

    nohup .venv/bin/python bench/train_bertsumext.py --max-minutes 85 \
        > var/bench/bertsumext.log 2>&1 &

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ml.baselines import Lead, Oracle, TextRank  # noqa: E402
from ml.bertsumext import BertSumExt, BertSumExtConfig  # noqa: E402
from ml.data import load_examples  # noqa: E402
from ml.encoders import load_tokenizer  # noqa: E402
from ml.evaluate import evaluate  # noqa: E402
from ml.ext_data import cached_features, collate  # noqa: E402
from ml.inference import Summarizer, autocast_context  # noqa: E402
from ml.train import TrainConfig, train, training_windows  # noqa: E402


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cnndm"))
    p.add_argument("--out", default=str(ROOT / "var" / "bench" / "bertsumext"))
    p.add_argument("--cache", default=str(ROOT / "var" / "cache" / "bertsumext"))
    p.add_argument("--max-minutes", type=float, default=85.0, help="training budget")
    p.add_argument("--val-limit", type=int, default=200)
    p.add_argument("--evals", type=int, default=4, help="validations during training")
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
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--encoder", default=None, help="default: the packaged all-MiniLM-L6-v2")
    p.add_argument("--train-limit", type=int, default=None, help="dry runs only")
    p.add_argument("--attention-dropout", type=float, default=0.0)
    p.add_argument("--sentence-pooling", choices=("cls", "mean"), default="cls")
    p.add_argument(
        "--train-windows",
        choices=("first", "all"),
        default="first",
        help="first: PreSumm's cut at 512 tokens; all: every window of long documents",
    )
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
    p.add_argument("--init-from", default=None, help="continue from a trained checkpoint dir")
    p.add_argument("--probe-epochs", type=int, default=0, help="head alone first (LP-FT)")
    p.add_argument("--probe-lr", type=float, default=1e-3)
    p.add_argument(
        "--average-checkpoints", type=int, default=0, help="try the mean of the last 2..N evals"
    )
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--seed", type=int, default=1, help="data order and initialisation")
    p.add_argument("--no-resume", action="store_true")
    args = p.parse_args()

    data = Path(args.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
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
    val_data = load_examples(data / "validation.jsonl")
    test_data = load_examples(data / "test.jsonl", limit=args.test_limit)
    log(f"data: train {len(train_data)}, validation {len(val_data)}, test {len(test_data)}")

    device = torch.device(args.device)
    encoder = {"encoder": args.encoder} if args.encoder else {}
    model_config = BertSumExtConfig(
        attention_dropout=args.attention_dropout,
        sentence_pooling=args.sentence_pooling,
        **encoder,
    )
    if not args.eval_only:
        tokenizer = load_tokenizer(model_config.encoder)
        start = time.perf_counter()
        docs = cached_features(train_data, tokenizer, model_config, True, args.cache)
        windows, report = training_windows(docs, tokenizer, model_config, args.train_windows)
        log(f"features: {len(windows)} windows in {time.perf_counter() - start:.0f}s")
        results["data_report"] = {
            "documents": report.documents,
            "used": report.used,
            "skipped": {k: len(v) for k, v in report.skipped.items()},
            "sentences": report.sentences,
            "sentences_cut": report.sentences_cut,
            "positive_labels": report.positive_labels,
            "positive_labels_cut": report.positive_labels_cut,
        }

        # 1. Throughput on identical real batches.
        bs = args.batch_size
        batches = [
            collate(windows[i * bs : (i + 1) * bs], int(tokenizer.pad_token_id or 0))
            for i in range(args.throughput_steps + 1)
        ]
        if args.throughput_only:
            variants = {
                "plain (fp32, attention dropout 0.1)": (BertSumExtConfig(**encoder), "fp32"),
                "fp32, attention dropout 0": (
                    BertSumExtConfig(attention_dropout=0.0, **encoder),
                    "fp32",
                ),
                "bf16 autocast, attention dropout 0.1": (BertSumExtConfig(**encoder), "bf16"),
                "bf16 autocast, attention dropout 0": (
                    BertSumExtConfig(attention_dropout=0.0, **encoder),
                    "bf16",
                ),
            }
            seconds: dict[str, list[float]] = {name: [] for name in variants}
            for r in range(args.rounds):  # interleaved: load changes hit every variant
                for name, (cfg, precision) in variants.items():
                    seconds[name].append(
                        step_seconds(cfg, precision, batches, args.throughput_steps, device)
                    )
                    log(f"round {r}: {name}: {bs / seconds[name][-1]:.2f} docs/s")
            base = sum(seconds["plain (fp32, attention dropout 0.1)"])
            results["throughput_variants"] = {
                "batch_size": bs,
                "steps_per_round": args.throughput_steps,
                "rounds": args.rounds,
                "docs_per_s": {n: bs * len(s) / sum(s) for n, s in seconds.items()},
                "speedup_vs_plain": {n: base / sum(s) for n, s in seconds.items()},
            }
            save()
            print(json.dumps(results["throughput_variants"], indent=2))
            return 0
        if not args.skip_throughput:
            timed = args.throughput_steps
            plain = step_seconds(BertSumExtConfig(**encoder), "fp32", batches, timed, device)
            ours = step_seconds(model_config, args.precision, batches, timed, device)
            results["throughput"] = {
                "batch_size": bs,
                "plain_default_docs_per_s": bs / plain,
                "ours_docs_per_s": bs / ours,
                "speedup": plain / ours,
                "ours_settings": f"{args.precision}, attention dropout {args.attention_dropout}",
            }
            log(f"throughput: plain {bs / plain:.2f} docs/s, ours {bs / ours:.2f} docs/s")
            save()

        # 2. Train: the schedule is --epochs long; max_minutes is the hard stop (the
        # machine is shared, so the step time measured above is only a guess).
        steps = max(10, int(args.epochs * len(windows) / bs))
        eval_every = max(1, -(-steps // args.evals))  # ceil: the last one is the end
        config = TrainConfig(
            model=model_config,
            batch_size=bs,
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
        log(f"training: {steps} steps planned, eval every {config.eval_every}")
        last = [time.perf_counter()]

        def progress(step: int, total: int, loss: float) -> None:
            if step % 20 == 0 or step == total:
                now = time.perf_counter()
                log(f"step {step}/{total} loss {loss:.4f} ({now - last[0]:.0f}s)")
                last[0] = now

        result = train(
            config,
            train_data,
            val_data,
            out,
            out / "tensorboard",
            on_progress=progress,
            device=device,
            resume=not args.no_resume,
        )
        results["training"] = {
            "stopped": result.stopped,
            "steps": result.steps,
            "best_dir": str(result.best_dir),
            "metrics": result.metrics,
            "history": result.history,
            "config": config.to_dict()
            | {"model": {k: v for k, v in model_config.to_dict().items() if k != "encoder_config"}},
        }
        save()
        log(f"training done: {result.stopped}, best {result.metrics}")

    # 3. Test set: everything through the same evaluator.
    best = out / "best"
    eval_precision = "fp32" if device.type == "cpu" else "auto"
    systems = [
        ("bertsumext (windows)", Summarizer.load(best, device, 16, eval_precision, "windows")),
        (
            "bertsumext (truncate at 512)",
            Summarizer.load(best, device, 16, eval_precision, "truncate"),
        ),
        ("lead3", Lead()),
        ("textrank", TextRank()),
        ("oracle", Oracle()),
    ]
    results["test"] = results.get("test", {})
    for name, system in systems:
        start = time.perf_counter()
        scores = evaluate(system, test_data)
        results["test"][name] = {
            **scores.as_dict(),
            "n": scores.n,
            "seconds": time.perf_counter() - start,
        }
        save()
        log(f"test {name}: {results['test'][name]}")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
