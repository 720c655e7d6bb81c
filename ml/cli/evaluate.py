"""``python -m ml evaluate``: ROUGE of a baseline or a trained model on a dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ml.cli.arguments import UsageError, non_negative_int, positive_int


def _evaluate(args: argparse.Namespace) -> int:
    from ml.evaluate import evaluate
    from ml.text.data import load_examples

    try:
        examples = load_examples(args.data, limit=args.limit)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    if not examples:
        raise UsageError(f"{args.data}: no examples")
    for spec in args.system:  # one JSON line per system, all on the same examples
        system, name = load_system_spec(spec, args.device)
        try:
            scores = evaluate(
                system,
                examples,
                max_sentences=args.max_sentences,
                batch_size=args.batch_size,
                progress=not args.quiet,
            )
        except ValueError as error:  # e.g. examples without a reference summary
            raise UsageError(str(error)) from None
        result = {"system": name, **{k: round(v, 2) for k, v in scores.as_dict().items()}}
        result["n"] = scores.n
        print(json.dumps(result), flush=True)
    return 0


def load_system_spec(spec: str, device: str) -> tuple[Any, str]:
    """A baseline by name, ``abstractive:NAME`` (a pretrained seq2seq model from a
    directory or the local Hugging Face cache), or a trained model's checkpoint dir."""
    from ml.text.baselines import get_baseline

    if spec.startswith("abstractive:"):
        return _load_abstractive(spec.removeprefix("abstractive:"), device)
    try:
        baseline = get_baseline(spec)
        return baseline, baseline.name
    except KeyError:
        pass
    path = Path(spec)
    if not path.is_dir():
        raise UsageError(
            f"unknown system {spec!r}: expected lead3, textrank, default, oracle or a "
            "checkpoint directory"
        )
    from ml.registry import load_system

    try:
        system = load_system(path, device)
    except (OSError, ValueError, KeyError) as error:
        raise UsageError(f"{path}: cannot load the checkpoint ({error})") from None
    return system, str(getattr(system, "name", path.name))


def _load_abstractive(name: str, device: str) -> tuple[Any, str]:
    from ml.models.abstractive.model import AbstractiveModelNotFound
    from ml.models.abstractive.summarizer import Summarizer as AbstractiveSummarizer

    if not name:
        raise UsageError("abstractive: needs a model directory or name (abstractive:PATH)")
    try:
        return AbstractiveSummarizer.load(name, device), f"abstractive:{name}"
    except AbstractiveModelNotFound as error:
        raise UsageError(str(error)) from None


def register_evaluate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="ROUGE of a baseline or a checkpoint on a dataset",
        description="Print one JSON object per --system: system, n, rouge1, rouge2, rougeLsum "
        "(mean F1 x 100, rouge-score with stemming, rougeLsum over newline-joined sentences).",
    )
    parser.add_argument("--data", required=True, help=".jsonl, .csv, or a folder of .story files")
    parser.add_argument(
        "--system",
        required=True,
        action="append",
        help="lead3, textrank, default (the zero-label default), oracle, a checkpoint "
        "directory, a training output dir (its best/) or abstractive:PATH (a local seq2seq "
        "model); repeat it to score several systems on the same examples",
    )
    parser.add_argument("--limit", type=non_negative_int, default=None, help="first N examples")
    parser.add_argument("--max-sentences", type=positive_int, default=3)
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--device", default="cpu", help="for checkpoints: cpu, cuda, cuda:1 ...")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=_evaluate)
