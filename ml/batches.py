"""Model input batches: dataclasses of tensors (``ExtBatch``, ``MatchBatch``)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import torch

B = TypeVar("B")


def batch_to(batch: B, device: torch.device | str) -> B:
    """A copy of the dataclass ``batch`` with every tensor field on ``device`` (None and
    other values are kept as they are)."""
    moved: dict[str, Any] = {
        f.name: value.to(device)
        for f in dataclasses.fields(batch)  # type: ignore[arg-type]
        if isinstance(value := getattr(batch, f.name), torch.Tensor)
    }
    return dataclasses.replace(batch, **moved)  # type: ignore[type-var]
