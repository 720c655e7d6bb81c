"""argparse ``type=`` checkers shared by the ``python -m ml`` commands: a bad value
becomes argparse's usage error (exit 2) naming the option and what it must be."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", int, float)


def _parse(value: str, cast: Callable[[str], T], what: str) -> T:
    try:
        return cast(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {value!r}") from None


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise argparse.ArgumentTypeError(message)


def positive_int(value: str) -> int:
    number = _parse(value, int, "an integer")
    _check(number >= 1, "must be positive")
    return number


def non_negative_int(value: str) -> int:
    number = _parse(value, int, "an integer")
    _check(number >= 0, "must not be negative")
    return number


def positive_float(value: str) -> float:
    number = _parse(value, float, "a number")
    _check(number > 0, "must be positive")
    return number


def non_negative_float(value: str) -> float:
    number = _parse(value, float, "a number")
    _check(number >= 0, "must not be negative")
    return number


def dropout(value: str) -> float:
    number = _parse(value, float, "a number")
    _check(0 <= number < 1, "must be in [0, 1)")
    return number


def positive_int_list(value: str) -> list[int]:
    """``"2,3"`` -> [2, 3]."""
    try:
        numbers = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {value!r}"
        ) from None
    _check(bool(numbers) and min(numbers) >= 1, "sizes must be positive integers, e.g. 2,3")
    return numbers
