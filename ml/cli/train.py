"""``python -m ml train``: train a model (``--model bertsumext``, the default, or
``--model matchsum --extractor DIR`` on top of a trained BertSumExt) from JSON Lines /
CSV / .story files.

The settings options are generated from the config dataclasses (``ml.cli.options``):
with only ``--train/--val/--out`` a run trains the documented recipe. Prints one JSON
object at the end (the best checkpoint, its validation metrics and the baselines on
the same validation set); a tqdm bar on stderr shows progress. Heavy imports (torch,
transformers) happen inside the handler.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml.cli.arguments import UsageError, positive_int
from ml.cli.options import add_config_options, config_layer
from ml.registry import ARCHITECTURES, DEFAULT_KIND, ConfigError, resolve_train_config


def build_train_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``train`` options: where the data and the run are, then the settings."""
    p = parser
    p.add_argument(
        "--model",
        "--kind",
        dest="kind",
        choices=tuple(ARCHITECTURES),
        default=DEFAULT_KIND,
        help=f"the model to train (default {DEFAULT_KIND})",
    )
    for name, spec in ARCHITECTURES.items():
        for flag, dest, help_text in spec.train_arguments:
            p.add_argument(
                flag, dest=dest, default=None, metavar="DIR", help=f"{name}: {help_text}"
            )
    p.add_argument("--train", required=True, help="training data (.jsonl, .csv, .story folder)")
    p.add_argument("--val", required=True, help="validation data (same formats)")
    p.add_argument("--out", required=True, help="output directory (checkpoints, best/, cache/)")
    p.add_argument("--log-dir", default=None, help="TensorBoard log dir (default OUT/tensorboard)")
    p.add_argument("--train-limit", type=positive_int, default=None, help="first N training docs")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints in OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_options(p)
    return p


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train BertSumExt or MatchSum (safetensors checkpoints, TensorBoard logs)",
        description="Train BertSumExt (or MatchSum on top of a trained BertSumExt: --model "
        "matchsum --extractor DIR) on documents with reference summaries; keep the best "
        "checkpoint by validation in OUT/best. Re-running with the same OUT resumes. "
        "Settings left out get the model's recipe (docs/ml.md).",
    )
    build_train_parser(parser).set_defaults(func=_train)


def resolve_cli_config(args: argparse.Namespace) -> Any:
    """The train config of ``args.kind``: its recipe, then the options given."""
    try:
        return resolve_train_config(args.kind, config_layer(args, args.kind))
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _train_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The kind's extra ``train`` keyword arguments (MatchSum: extractor_dir)."""
    kwargs: dict[str, Any] = {}
    for name, spec in ARCHITECTURES.items():
        for flag, dest, _ in spec.train_arguments:
            value = getattr(args, dest)
            if value is not None and name != args.kind:
                raise UsageError(f"{flag} applies to --model {name} only")
            if name == args.kind:
                kwargs[dest] = value
    return kwargs


def _progress_bar(args: argparse.Namespace) -> tuple[Any, Callable[[int, int, float], None]]:
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(desc=f"train {args.kind}", unit="step", file=sys.stderr)

    def progress(step: int, total: int, loss: float) -> None:
        if bar is not None:
            bar.total = total
            bar.n = step
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.refresh()

    return bar, progress


def _load_data(args: argparse.Namespace, val_limit: int | None) -> tuple[list[Any], list[Any]]:
    from ml.text.data import load_examples

    try:
        train_data = load_examples(args.train, limit=args.train_limit)
        val_data = load_examples(args.val, limit=val_limit)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    if not train_data or not val_data:
        raise UsageError("the training and validation files must not be empty")
    return train_data, val_data


def _report(kind: str, result: Any) -> str:
    return json.dumps(
        {
            "model": kind,
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


def _train(args: argparse.Namespace) -> int:
    from ml.encoders import EncoderNotFoundError
    from ml.registry import architecture, train_function

    config = resolve_cli_config(args)
    kwargs = _train_arguments(args)
    out = Path(args.out)
    spec = architecture(args.kind)
    if spec.preflight is not None:
        try:
            spec.attribute(spec.preflight)(config, out, not args.no_resume, **kwargs)
        except ValueError as error:
            raise UsageError(str(error)) from None
    train_data, val_data = _load_data(args, config.val_limit)
    bar, progress = _progress_bar(args)
    try:
        result = train_function(args.kind)(
            config,
            train_data,
            val_data,
            out,
            log_dir=args.log_dir or out / "tensorboard",
            on_progress=progress,
            device=args.device,
            resume=not args.no_resume,
            **kwargs,
        )
    except (EncoderNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    finally:
        if bar is not None:
            bar.close()
    print(_report(args.kind, result))
    return 0
