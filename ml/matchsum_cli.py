"""``python -m ml train --model matchsum --extractor DIR ...``: the MatchSum half of ``train``.

``ml.train_cli`` registers the shared options and calls :func:`add_matchsum_arguments`
for the MatchSum-only ones; heavy imports happen inside the handler.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ml.cli_args import non_negative_float, positive_int, positive_int_list


def add_matchsum_arguments(p: Any) -> None:
    g = p.add_argument_group("matchsum (with --model matchsum)")
    g.add_argument("--pooling", choices=("cls", "mean"), default="mean", help="cls: the paper's")
    g.add_argument(
        "--candidate-k", type=positive_int, default=5, help="sentences kept by the extractor"
    )
    g.add_argument("--candidate-sizes", type=positive_int_list, default=[2, 3], help="e.g. 2,3")
    g.add_argument("--margin", type=non_negative_float, default=0.01, help="per rank gap")
    g.add_argument("--max-doc-tokens", type=positive_int, default=512)
    g.add_argument("--max-candidate-tokens", type=positive_int, default=256)


def train_matchsum_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ml.checkpoint import CheckpointError, read_config
    from ml.cli import UsageError
    from ml.data import load_examples
    from ml.encoders import EncoderNotFoundError
    from ml.matchsum import MatchSumConfig
    from ml.matchsum_train import MatchSumTrainConfig, train_matchsum

    if args.head_lr is not None:
        raise UsageError("--head-lr applies to --model bertsumext only (MatchSum has no head)")
    out = Path(args.out)
    resuming = (out / "extractor").is_dir() and not args.no_resume
    if args.extractor is None and not resuming and args.init_from is None:
        raise UsageError("--model matchsum needs --extractor DIR (a trained BertSumExt checkpoint)")
    if args.extractor is not None:
        try:
            read_config(args.extractor)
        except CheckpointError as error:
            raise UsageError(f"--extractor: {error}") from None
    try:
        train_data = load_examples(args.train, limit=args.train_limit)
        val_data = load_examples(args.val, limit=args.val_limit)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    if not train_data or not val_data:
        raise UsageError("the training and validation files must not be empty")
    try:
        model = MatchSumConfig(
            encoder=args.encoder,
            pooling=args.pooling,
            attention_dropout=args.attention_dropout,
            max_doc_tokens=args.max_doc_tokens,
            max_candidate_tokens=args.max_candidate_tokens,
            candidate_k=args.candidate_k,
            candidate_sizes=args.candidate_sizes,
            margin=args.margin,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    config = MatchSumTrainConfig(
        model=model,
        batch_size=args.batch_size or 4,
        grad_accum=args.grad_accum,
        lr=args.lr or 2e-5,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        eval_every=args.eval_every,
        precision=args.precision,
        select_by=args.select_by,
        seed=args.seed,
        init_from=args.init_from,
        average_checkpoints=args.average_checkpoints,
    )
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(desc="train matchsum", unit="step", file=sys.stderr)

    def progress(step: int, total: int, loss: float) -> None:
        if bar is not None:
            bar.total = total
            bar.n = step
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.refresh()

    try:
        result = train_matchsum(
            config,
            train_data,
            val_data,
            out,
            log_dir=args.log_dir or out / "tensorboard",
            on_progress=progress,
            device=args.device,
            resume=not args.no_resume,
            extractor_dir=args.extractor,
        )
    except (EncoderNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    finally:
        if bar is not None:
            bar.close()
    print(
        json.dumps(
            {
                "model": "matchsum",
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
