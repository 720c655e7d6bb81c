"""``python -m ml train``: train BertSumExt (or, with ``--model matchsum``, MatchSum on top
of a trained BertSumExt) from JSON Lines / CSV / .story files.

Prints one JSON object at the end (the best checkpoint, its validation metrics and
the baselines on the same validation set); a tqdm bar on stderr shows progress.
Heavy imports (torch, transformers) happen inside the handler.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ml.cli_args import dropout, non_negative_int, positive_float, positive_int


def register(subparsers: Any) -> None:
    from ml.matchsum_cli import add_matchsum_arguments

    p = subparsers.add_parser(
        "train",
        help="train BertSumExt or MatchSum (safetensors checkpoints, TensorBoard logs)",
        description="Train BertSumExt (or MatchSum on top of a trained BertSumExt: --model "
        "matchsum --extractor DIR) on documents with reference summaries; keep the best "
        "checkpoint by validation in OUT/best. Re-running with the same OUT resumes.",
    )
    p.add_argument("--model", choices=("bertsumext", "matchsum"), default="bertsumext")
    p.add_argument(
        "--extractor",
        default=None,
        help="matchsum: the trained BertSumExt checkpoint dir that prunes documents",
    )
    p.add_argument("--train", required=True, help="training data (.jsonl, .csv, .story folder)")
    p.add_argument("--val", required=True, help="validation data (same formats)")
    p.add_argument("--out", required=True, help="output directory (checkpoints, best/, cache/)")
    p.add_argument("--log-dir", default=None, help="TensorBoard log dir (default OUT/tensorboard)")
    p.add_argument("--encoder", default="all-MiniLM-L6-v2", help="packaged default, HF name or dir")
    p.add_argument("--max-pos", type=positive_int, default=512)
    p.add_argument("--long-documents", choices=("windows", "truncate"), default="windows")
    p.add_argument(
        "--sentence-pooling",
        choices=("cls", "mean"),
        default="cls",
        help="bertsumext sentence vectors: cls (the paper's) or the mean of the sentence's tokens",
    )
    p.add_argument(
        "--train-windows",
        choices=("first", "all"),
        default="first",
        help="bertsumext: first window of each document (PreSumm) or all windows",
    )
    p.add_argument("--train-limit", type=positive_int, default=None, help="first N training docs")
    p.add_argument("--val-limit", type=positive_int, default=None, help="first N validation docs")
    p.add_argument("--batch-size", type=positive_int, default=None, help="default 8 (matchsum: 4)")
    p.add_argument("--grad-accum", type=positive_int, default=1)
    p.add_argument("--lr", type=positive_float, default=None, help="default 5e-5 (matchsum: 2e-5)")
    p.add_argument("--head-lr", type=positive_float, default=None)
    p.add_argument("--schedule", choices=("linear", "noam"), default="linear")
    p.add_argument("--warmup-steps", type=positive_int, default=100)
    p.add_argument("--epochs", type=positive_float, default=1.0)
    p.add_argument("--max-steps", type=positive_int, default=None)
    p.add_argument("--max-minutes", type=positive_float, default=None)
    p.add_argument("--eval-every", type=positive_int, default=200)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto")
    p.add_argument(
        "--attention-dropout",
        type=dropout,
        default=None,
        help="0 enables the fast SDPA path on CPU (default: the encoder's)",
    )
    p.add_argument("--select-by", choices=("rouge", "loss"), default="rouge")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints in OUT")
    p.add_argument("--init-from", default=None, help="start from a trained checkpoint dir")
    p.add_argument(
        "--probe-epochs",
        type=non_negative_int,
        default=0,
        help="first train the head alone on frozen-encoder vectors for N epochs",
    )
    p.add_argument("--probe-lr", type=positive_float, default=1e-3)
    p.add_argument(
        "--average-checkpoints",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="at the end, try the mean weights of the last 2..N checkpoints (both models)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_matchsum_arguments(p)
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ml.bertsumext import BertSumExtConfig
    from ml.cli import UsageError
    from ml.data import load_examples
    from ml.encoders import EncoderNotFoundError
    from ml.train import TrainConfig, train

    if args.model == "matchsum":
        from ml.matchsum_cli import train_matchsum_command

        return train_matchsum_command(args)
    if args.extractor is not None:
        raise UsageError("--extractor applies to --model matchsum only")
    try:
        train_data = load_examples(args.train, limit=args.train_limit)
        val_data = load_examples(args.val, limit=args.val_limit)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    if not train_data or not val_data:
        raise UsageError("the training and validation files must not be empty")
    model = BertSumExtConfig(
        encoder=args.encoder,
        max_pos=args.max_pos,
        long_documents=args.long_documents,
        attention_dropout=args.attention_dropout,
        sentence_pooling=args.sentence_pooling,
    )
    config = TrainConfig(
        model=model,
        batch_size=args.batch_size or 8,
        grad_accum=args.grad_accum,
        lr=args.lr or 5e-5,
        head_lr=args.head_lr,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        eval_every=args.eval_every,
        precision=args.precision,
        select_by=args.select_by,
        train_windows=args.train_windows,
        seed=args.seed,
        init_from=args.init_from,
        probe_epochs=args.probe_epochs,
        probe_lr=args.probe_lr,
        average_checkpoints=args.average_checkpoints,
    )
    out = Path(args.out)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(desc="train", unit="step", file=sys.stderr)

    def progress(step: int, total: int, loss: float) -> None:
        if bar is not None:
            bar.total = total
            bar.n = step
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.refresh()

    try:
        result = train(
            config,
            train_data,
            val_data,
            out,
            log_dir=args.log_dir or out / "tensorboard",
            on_progress=progress,
            device=args.device,
            resume=not args.no_resume,
        )
    except (EncoderNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    finally:
        if bar is not None:
            bar.close()
    print(
        json.dumps(
            {
                "best_dir": str(result.best_dir) if result.best_dir else None,
                "stopped": result.stopped,
                "steps": result.steps,
                "metrics": {k: round(v, 4) for k, v in result.metrics.items()},
                "documents_used": result.data.used,
                "documents_skipped": {k: len(v) for k, v in result.data.skipped.items()},
                "sentences_cut": result.data.sentences_cut,
                "positive_labels_cut": result.data.positive_labels_cut,
            }
        )
    )
    return 0
