"""MatchSum checkpoint directories: self-contained, safetensors + JSON, never pickle.

    config.json          {"architecture": "MatchSum", "format_version": 1, ...MatchSumConfig}
    model.safetensors    the Siamese encoder's weights
    tokenizer files      tokenizer.save_pretrained()
    metrics.json         optional: what the trainer measured for this model
    extractor/           a copy of the BertSumExt checkpoint that prunes the documents

so the service serves one directory. Training checkpoints add the same training
state files as BertSumExt's (``ml.checkpoint.write_training_state``). Directories are
written under a temporary name and renamed (``ml.checkpoint.atomic_directory``).
The extractor is hard-linked where the file system allows (checkpoint files are
never modified in place, only replaced), else copied.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from ml.checkpoint import (
    CONFIG_NAME,
    METRICS_NAME,
    STATE_JSON,
    STATE_TENSORS,
    WEIGHTS_NAME,
    CheckpointError,
    atomic_directory,
    read_config,
    write_training_state,
)
from ml.matchsum import MatchSum, MatchSumConfig

ARCHITECTURE = "MatchSum"
FORMAT_VERSION = 1
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


def _write_model_files(
    directory: Path,
    model: MatchSum,
    tokenizer: PreTrainedTokenizerBase,
    extractor_dir: str | Path,
    metrics: dict[str, Any] | None,
) -> None:
    config = {"architecture": ARCHITECTURE, "format_version": FORMAT_VERSION}
    config.update(model.config.to_dict())
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True))
    save_model(model, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    tokenizer.save_pretrained(str(directory))
    if metrics is not None:
        (directory / METRICS_NAME).write_text(json.dumps(metrics, indent=2, sort_keys=True))
    copy_extractor(extractor_dir, directory / EXTRACTOR_DIR)


def save_matchsum(
    model: MatchSum,
    tokenizer: PreTrainedTokenizerBase,
    directory: str | Path,
    extractor_dir: str | Path,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a servable MatchSum directory (replacing an existing one atomically)."""
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        _write_model_files(tmp, model, tokenizer, extractor_dir, metrics)
    return directory


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
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        _write_model_files(tmp, model, tokenizer, extractor_dir, None)
        write_training_state(tmp, optimizer, scheduler, trainer_state, scaler_state)
    return directory


def read_matchsum_config(directory: str | Path) -> MatchSumConfig:
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {str(directory)!r} does not exist")
    if not path.is_file() or not (directory / WEIGHTS_NAME).is_file():
        raise CheckpointError(
            f"{str(directory)!r} is not a MatchSum checkpoint "
            f"(needs {CONFIG_NAME} and {WEIGHTS_NAME})"
        )
    data = json.loads(path.read_text())
    if data.pop("architecture", None) != ARCHITECTURE:
        raise CheckpointError(f"{str(path)!r} does not describe a {ARCHITECTURE} model")
    version = data.pop("format_version", None)
    if version != FORMAT_VERSION:
        raise CheckpointError(f"unsupported checkpoint format {version!r} in {str(path)!r}")
    if not (directory / EXTRACTOR_DIR / CONFIG_NAME).is_file():
        raise CheckpointError(
            f"{str(directory)!r} has no {EXTRACTOR_DIR}/ (the BertSumExt model it needs)"
        )
    return MatchSumConfig.from_dict(data)


def load_matchsum(
    directory: str | Path, device: str | torch.device = "cpu"
) -> tuple[MatchSum, PreTrainedTokenizerBase]:
    """Rebuild the model from its config (no pretrained download) and load its weights."""
    directory = Path(directory)
    model = MatchSum(read_matchsum_config(directory))
    missing, unexpected = load_model(model, str(directory / WEIGHTS_NAME), strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {str(directory)!r} do not match the config: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    return model.to(device).eval(), tokenizer
