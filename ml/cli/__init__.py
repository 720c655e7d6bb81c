"""python -m ml: command-line entry points of the ml package.

Subcommands are added by ``register(subparsers)`` functions (``ml.cli.evaluate``,
``ml.cli.train``). Each sets ``func=handler`` with ``handler(args) -> int`` (the exit
status). Every command module is imported to build the parser, so each keeps heavy
imports (torch) inside its handlers for ``evaluate lead3`` to stay fast.

Bad input (a missing or malformed file, an unknown system) prints one line on
stderr and exits with status 2, like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ml.cli.arguments import EXIT_BAD_INPUT, UsageError
from ml.cli.evaluate import register_evaluate
from ml.cli.train import register as register_train

Registrar = Callable[[Any], None]  # register(subparsers)
REGISTRARS: tuple[Registrar, ...] = (register_evaluate, register_train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRARS:
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


__all__ = ["EXIT_BAD_INPUT", "UsageError", "build_parser", "main", "register_evaluate"]
