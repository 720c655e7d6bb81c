"""Checkpoint averaging: the mean weights of a run's last checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_model

from ml.checkpoints import WEIGHTS_NAME


def average_weights(model: torch.nn.Module, directories: Sequence[Path]) -> dict[str, torch.Tensor]:
    """The mean of the weights saved in ``directories`` (checkpoints of ``model``'s run).

    Floating-point tensors are averaged in fp32; integer buffers come from the last one.
    ``model``'s own weights are overwritten along the way.
    """
    if not directories:
        raise ValueError("no checkpoints to average")
    sums: dict[str, torch.Tensor] = {}
    for directory in directories:
        load_model(model, str(Path(directory) / WEIGHTS_NAME))
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                sums[name] = tensor.clone()
            elif name in sums:
                sums[name] += tensor.float()
            else:
                sums[name] = tensor.float().clone()
    reference = model.state_dict()
    return {
        name: (t / len(directories)).to(reference[name].dtype) if t.is_floating_point() else t
        for name, t in sums.items()
    }
