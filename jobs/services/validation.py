"""Checks of client and operator input shared by the services; each raises InvalidInput."""

from __future__ import annotations

from django.conf import settings

from .. import engines
from ..models import ModelKind, Split
from .errors import InvalidInput


def validate_model(model: str) -> str:
    model = (model or "").strip().lower()
    if model and model not in ModelKind.values:
        raise InvalidInput(
            f"unknown model '{model}'; choose one of: {', '.join(ModelKind.values)}", "model"
        )
    if model and not engines.is_available(model):
        raise InvalidInput(
            f"model '{model}' has no trained version yet; "
            f"available: {', '.join(engines.available_kinds())}",
            "model",
        )
    return model


def validate_max_sentences(n: int) -> int:
    limit = settings.MAX_SUMMARY_SENTENCES
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise InvalidInput(f"max_sentences must be an integer from 1 to {limit}", "max_sentences")
    return n


def validate_split(split: str, name: str = "split", allow_none: bool = True) -> str:
    """A dataset split; `allow_none` accepts "" (a document that is only summarized)."""
    if split not in Split.values or (not split and not allow_none):
        raise InvalidInput(f"{name} must be one of: {', '.join(Split.values[1:])}", name)
    return split
