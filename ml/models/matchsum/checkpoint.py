"""MatchSum checkpoint directories: self-contained, safetensors + JSON, never pickle.

    config.json          {"architecture": "MatchSum", "format_version": 1, ...MatchSumConfig}
    model.safetensors    the Siamese encoder's weights
    tokenizer files      tokenizer.save_pretrained()
    metrics.json         optional: what the trainer measured for this model
    extractor/           a copy of the BertSumExt checkpoint that prunes the documents

so the service serves one directory. Training checkpoints add the same training
state files as BertSumExt's (``ml.checkpoints.write_training_state``). Directories are
written under a temporary name and renamed (``ml.checkpoints.atomic_directory``).
The extractor is hard-linked where the file system allows (checkpoint files are
never modified in place, only replaced), else copied.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from ml.checkpoints import (
    CONFIG_NAME,
    STATE_JSON,
    STATE_TENSORS,
    CheckpointError,
    load_model_dir,
    read_model_config,
    save_model_dir,
    save_training_checkpoint,
)
from ml.models.bertsumext.checkpoint import read_config
from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.model import MatchSum

ARCHITECTURE = "MatchSum"
EXTRACTOR_DIR = "extractor"


def copy_extractor(source: str | Path, target: Path) -> None:
    """Copy a BertSumExt model directory (without training state) to ``target``."""
    source = Path(source)
    read_config(source)  # a clear CheckpointError if it is not a BertSumExt checkpoint
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name in (STATE_TENSORS, STATE_JSON) or not item.is_file():
            continue
        try:
            os.link(item, target / item.name)
        except OSError:
            shutil.copy2(item, target / item.name)


def _extractor_copy(extractor_dir: str | Path) -> Callable[[Path], None]:
    """Writes the copy of the extractor into a model directory being written."""
    return lambda tmp: copy_extractor(extractor_dir, tmp / EXTRACTOR_DIR)


def save_matchsum(
    model: MatchSum,
    tokenizer: PreTrainedTokenizerBase,
    directory: str | Path,
    extractor_dir: str | Path,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a servable MatchSum directory (replacing an existing one atomically)."""
    extra = _extractor_copy(extractor_dir)
    return save_model_dir(directory, model, tokenizer, ARCHITECTURE, metrics, extra)


def save_matchsum_training_checkpoint(
    directory: str | Path,
    model: MatchSum,
    tokenizer: PreTrainedTokenizerBase,
    extractor_dir: str | Path,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    trainer_state: dict[str, Any],
    scaler_state: dict[str, Any] | None = None,
) -> Path:
    """A MatchSum directory plus optimizer, schedule, RNG and trainer state (for resuming)."""
    return save_training_checkpoint(
        directory,
        model,
        tokenizer,
        ARCHITECTURE,
        optimizer,
        scheduler,
        trainer_state,
        scaler_state,
        extra=_extractor_copy(extractor_dir),
    )


def _check_extractor(directory: Path) -> None:
    if not (directory / EXTRACTOR_DIR / CONFIG_NAME).is_file():
        raise CheckpointError(
            f"{str(directory)!r} has no {EXTRACTOR_DIR}/ (the BertSumExt model it needs)"
        )


def read_matchsum_config(directory: str | Path) -> MatchSumConfig:
    return read_model_config(directory, ARCHITECTURE, MatchSumConfig, check=_check_extractor)


def load_matchsum(
    directory: str | Path, device: str | torch.device = "cpu"
) -> tuple[MatchSum, PreTrainedTokenizerBase]:
    """Rebuild the model from its config (no pretrained download) and load its weights."""
    return load_model_dir(directory, read_matchsum_config(directory), MatchSum, device)
