"""python -m ml: command-line entry points of the ml package.

Subcommands are added by ``register(subparsers)`` functions (``ml.cli.evaluate``,
``ml.cli.train``). Each sets
``func=handler`` with ``handler(args) -> int`` (the exit status). Modules listed
in ``OPTIONAL_COMMANDS`` (``ml.cli.train``) are imported when present, so they
must keep heavy imports (torch) inside their handlers for ``evaluate lead3`` to
stay fast.

Bad input (a missing or malformed file, an unknown system) prints one line on
stderr and exits with status 2, like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ml.cli.arguments import EXIT_BAD_INPUT, UsageError
from ml.cli.evaluate import register_evaluate

Registrar = Callable[[Any], None]  # register(subparsers)

OPTIONAL_COMMANDS = ("ml.cli.train",)


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


__all__ = ["EXIT_BAD_INPUT", "UsageError", "build_parser", "main", "register_evaluate"]
