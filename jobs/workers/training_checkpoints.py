"""What the training worker reads from checkpoints: resume step, digest, ROUGE."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Measured:
    """A system's mean validation ROUGE and each document's (mean of R1/R2/RLsum)."""

    means: dict[str, float]
    per_document: list[float]


def measure(system: Any, examples: list[Any], max_sentences: int = 3) -> Measured:
    """ROUGE of `system` on `examples`: the means and, per document in order, the gate
    metric (for the paired bootstrap against the new model on the same documents)."""
    from ml.evaluate import document_scores
    from ml.text.rouge import mean_scores

    rows = document_scores(system, examples, max_sentences)
    scores = mean_scores(rows)
    return Measured(
        {
            "val_rouge1": scores.rouge1,
            "val_rouge2": scores.rouge2,
            "val_rougeLsum": scores.rougeLsum,
            GATE_METRIC: (scores.rouge1 + scores.rouge2 + scores.rougeLsum) / 3,
        },
        [sum(row.values()) / len(row) for row in rows],
    )


def evaluate_version(
    version: ModelVersion, examples: list[Any], device: str, max_sentences: int = 3
) -> Measured | None:
    """ROUGE of a stored version on the given examples (the new run's validation set)."""
    from ml.registry import load_system

    if not Path(version.checkpoint_dir).is_dir():
        logger.warning("%s: checkpoint %s is missing", version, version.checkpoint_dir)
        return None
    return measure(load_system(version.checkpoint_dir, device), examples, max_sentences)
