"""What the ``python -m ml`` commands share: :class:`UsageError` and argparse ``type=``
checkers (a bad value becomes argparse's usage error, exit 2, naming the option and
what it must be)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", int, float)
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input: reported on stderr, exit status 2."""


def _checker(
    cast: Callable[[str], T], what: str, ok: Callable[[T], bool], message: str, name: str
) -> Callable[[str], T]:
    """An argparse ``type=``: ``cast(value)`` (else "not {what}"), then ``ok`` or ``message``."""

    def check(value: str) -> T:
        try:
            number = cast(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {value!r}") from None
        if not ok(number):
            raise argparse.ArgumentTypeError(message)
        return number

    check.__name__ = name
    return check


positive_int = _checker(int, "an integer", lambda n: n >= 1, "must be positive", "positive_int")
non_negative_int = _checker(
    int, "an integer", lambda n: n >= 0, "must not be negative", "non_negative_int"
)
positive_float = _checker(float, "a number", lambda n: n > 0, "must be positive", "positive_float")
non_negative_float = _checker(
    float, "a number", lambda n: n >= 0, "must not be negative", "non_negative_float"
)
dropout = _checker(float, "a number", lambda n: 0 <= n < 1, "must be in [0, 1)", "dropout")


def positive_int_list(value: str) -> list[int]:
    """``"2,3"`` -> [2, 3]."""
    try:
        numbers = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {value!r}"
        ) from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers, e.g. 2,3")
    return numbers
