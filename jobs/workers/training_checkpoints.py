"""What the training worker reads from checkpoints: resume step, digest, ROUGE."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from ..models import ModelVersion
from ..services.versions import GATE_METRIC

logger = logging.getLogger(__name__)


def training_device() -> str:
    if settings.TRAINING_DEVICE != "auto":
        return settings.TRAINING_DEVICE
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def latest_checkpoint_step(out_dir: Path) -> int | None:
    from ml.checkpoints import list_training_checkpoints

    found = list_training_checkpoints(out_dir / "checkpoints")
    if not found:
        return None
    match = re.search(r"(\d+)$", found[-1].name)
    return int(match.group(1)) if match else None


def checkpoint_sha256(directory: Path) -> str:
    """sha256 of the weights file, so a served model can be traced to its bytes."""
    from ml.checkpoints import WEIGHTS_NAME

    digest = hashlib.sha256()
    with open(Path(directory) / WEIGHTS_NAME, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def evaluate_version(version: ModelVersion, examples: list[Any], device: str) -> dict | None:
    """ROUGE of a stored version on the given examples (the new run's validation set)."""
    from ml.evaluate import evaluate
    from ml.registry import load_system

    if not Path(version.checkpoint_dir).is_dir():
        logger.warning("%s: checkpoint %s is missing", version, version.checkpoint_dir)
        return None
    scores = evaluate(load_system(version.checkpoint_dir, device), examples)
    return {
        "val_rouge1": scores.rouge1,
        "val_rouge2": scores.rouge2,
        "val_rougeLsum": scores.rougeLsum,
        GATE_METRIC: (scores.rouge1 + scores.rouge2 + scores.rougeLsum) / 3,
    }
