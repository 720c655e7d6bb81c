"""python -m ml: command-line entry points of the ml package.

Subcommands are added by ``register(subparsers)`` functions. Each sets
``func=handler`` with ``handler(args) -> int`` (the exit status). Modules listed
in ``OPTIONAL_COMMANDS`` (``ml.train_cli``) are imported when present, so they
must keep heavy imports (torch) inside their handlers for ``evaluate lead3`` to
stay fast.

Bad input (a missing or malformed file, an unknown system) prints one line on
stderr and exits with status 2, like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ml.cli_args import non_negative_int, positive_int

Registrar = Callable[[Any], None]  # register(subparsers)

OPTIONAL_COMMANDS = ("ml.train_cli",)
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input: reported on stderr, exit status 2."""


def _evaluate(args: argparse.Namespace) -> int:
    from ml.data import load_examples
    from ml.evaluate import evaluate

    try:
        examples = load_examples(args.data, limit=args.limit)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    if not examples:
        raise UsageError(f"{args.data}: no examples")
    system, name = _load_system(args.system, args.device)
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
    print(json.dumps(result))
    return 0


def _load_system(spec: str, device: str) -> tuple[Any, str]:
    """A baseline by name, or a trained model from a checkpoint directory."""
    from ml.baselines import get_baseline

    try:
        baseline = get_baseline(spec)
        return baseline, baseline.name
    except KeyError:
        pass
    path = Path(spec)
    if not path.is_dir():
        raise UsageError(
            f"unknown system {spec!r}: expected lead3, textrank, oracle or a checkpoint directory"
        )
    try:
        from ml.inference import load_system
    except ImportError as error:
        raise UsageError(
            f"cannot load checkpoints: ml.inference is unavailable ({error})"
        ) from None
    try:
        system = load_system(path, device)
    except (OSError, ValueError, KeyError) as error:
        raise UsageError(f"{path}: cannot load the checkpoint ({error})") from None
    return system, str(getattr(system, "name", path.name))


def register_evaluate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="ROUGE of a baseline or a checkpoint on a dataset",
        description="Print one JSON object: system, n, rouge1, rouge2, rougeLsum "
        "(mean F1 x 100, rouge-score with stemming, rougeLsum over newline-joined sentences).",
    )
    parser.add_argument("--data", required=True, help=".jsonl, .csv, or a folder of .story files")
    parser.add_argument(
        "--system", required=True, help="lead3, textrank, oracle or a checkpoint directory"
    )
    parser.add_argument("--limit", type=non_negative_int, default=None, help="first N examples")
    parser.add_argument("--max-sentences", type=positive_int, default=3)
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--device", default="cpu", help="for checkpoints: cpu, cuda, cuda:1 ...")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=_evaluate)


def _optional_registrar(module_name: str) -> Registrar | None:
    """``module.register`` if the module exists; None while it is not written yet."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise
    registrar: Registrar = module.register
    return registrar


def registrars() -> list[Registrar]:
    found: list[Registrar] = [register_evaluate]
    for module_name in OPTIONAL_COMMANDS:
        registrar = _optional_registrar(module_name)
        if registrar is not None:
            found.append(registrar)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return status
