"""BertSumExt model directories (``ml.checkpoints`` layout, architecture "BertSumExt")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from ml.checkpoints import load_model_dir, read_model_config, save_model_dir
from ml.models.bertsumext.config import BertSumExtConfig
from ml.models.bertsumext.model import BertSumExt

ARCHITECTURE = "BertSumExt"


def save_pretrained(
    model: BertSumExt,
    tokenizer: PreTrainedTokenizerBase,
    directory: str | Path,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory (replacing an existing one atomically)."""
    return save_model_dir(directory, model, tokenizer, ARCHITECTURE, metrics)


def read_config(directory: str | Path) -> BertSumExtConfig:
    return read_model_config(directory, ARCHITECTURE, BertSumExtConfig)


def load_pretrained(
    directory: str | Path, device: str | torch.device = "cpu"
) -> tuple[BertSumExt, PreTrainedTokenizerBase]:
    """Rebuild the model from its config (no pretrained download) and load its weights."""
    return load_model_dir(directory, read_config(directory), BertSumExt, device)
