"""Checkpoint directories of every model: safetensors + config.json + tokenizer files, never pickle.

A model directory (:func:`save_model_dir`) is everything the service needs to summarize:

    config.json          {"architecture": NAME, "format_version": 1, ...the model's config}
                         (the encoder's own config inside, so no pretrained download),
                         plus "languages" (what the tokenizer reads, measured by
                         ml.languages when saved) and "splitter_version" (the
                         sentence splitter its features were made with)
    model.safetensors    all weights
    tokenizer files      tokenizer.save_pretrained()
    metrics.json         optional: what the trainer measured for this model
    (model files)        a model's own extras, e.g. MatchSum's extractor/

A training run's output directory holds the best model in ``best/`` (see
:func:`resolve_model_dir`), resumable checkpoints in ``checkpoints/step-NNNNNNN``.

A training checkpoint adds what resuming needs: ``training_state.safetensors``
(optimizer tensors, RNG states) and ``trainer_state.json`` (step, schedule,
history). Directories are written under a temporary name and renamed, so a crash
never leaves a half-written checkpoint that looks complete.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from ml.languages import (
    LANGUAGES_KEY,
    LanguageCoverage,
    checkpoint_coverage,
    measure_languages,
)
from ml.settings import Settings
from ml.text.sentences import SPLITTER_VERSION

C = TypeVar("C", bound=Settings)
M = TypeVar("M", bound=torch.nn.Module)
ExtraFiles = Callable[[Path], None]

BEST_DIR = "best"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
METRICS_NAME = "metrics.json"
STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "trainer_state.json"
FORMAT_VERSION = 1
SPLITTER_VERSION_KEY = "splitter_version"
# Checkpoints saved before the splitter version was recorded used version 1.
UNRECORDED_SPLITTER_VERSION = 1


class CheckpointError(ValueError):
    """The directory is not a (complete, compatible) checkpoint of the expected model."""


def _write_model_files(
    directory: Path,
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    architecture: str,
    metrics: dict[str, Any] | None,
) -> None:
    config: dict[str, Any] = {"architecture": architecture, "format_version": FORMAT_VERSION}
    config.update(cast(Any, model).config.to_dict())  # every ml model keeps its config
    config[LANGUAGES_KEY] = measure_languages(tokenizer).to_dict()
    config[SPLITTER_VERSION_KEY] = SPLITTER_VERSION
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True))
    save_model(model, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    tokenizer.save_pretrained(str(directory))
    if metrics is not None:
        (directory / METRICS_NAME).write_text(json.dumps(metrics, indent=2, sort_keys=True))


def _atomic_dir(directory: Path) -> Path:
    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def _commit_dir(tmp: Path, directory: Path) -> None:
    if directory.exists():
        old = directory.with_name(directory.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old)
    else:
        tmp.rename(directory)


@contextlib.contextmanager
def atomic_directory(directory: str | Path) -> Iterator[Path]:
    """Write into a temporary sibling of ``directory``; it replaces ``directory`` on success.

    On an exception the temporary directory is left behind (removed by the next write)
    and ``directory`` keeps its previous content.
    """
    directory = Path(directory)
    tmp = _atomic_dir(directory)
    yield tmp
    _commit_dir(tmp, directory)


def resolve_model_dir(path: str | Path) -> Path:
    """A model directory, or a training output directory's ``best/`` model."""
    path = Path(path)
    if not (path / CONFIG_NAME).is_file() and (path / BEST_DIR / CONFIG_NAME).is_file():
        return path / BEST_DIR
    return path


def read_architecture(directory: str | Path) -> str | None:
    """The ``architecture`` named in a model directory's config.json (None if there is none)."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    value = data.get("architecture") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def save_model_dir(
    directory: str | Path,
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    architecture: str,
    metrics: dict[str, Any] | None = None,
    extra: ExtraFiles | None = None,
) -> Path:
    """Write a model directory (replacing an existing one atomically).

    ``model.config.to_dict()`` goes to config.json under ``architecture``; ``extra(tmp)``
    adds a model's own files (MatchSum: its extractor) before the directory is renamed.
    """
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        _write_model_files(tmp, model, tokenizer, architecture, metrics)
        if extra is not None:
            extra(tmp)
    return directory


def read_model_config(
    directory: str | Path,
    architecture: str,
    config_class: type[C],
    check: ExtraFiles | None = None,
) -> C:
    """The ``config_class`` stored in a model directory of ``architecture``.

    ``check(directory)`` may raise :class:`CheckpointError` for missing model files.
    """
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {str(directory)!r} does not exist")
    if not path.is_file() or not (directory / WEIGHTS_NAME).is_file():
        raise CheckpointError(
            f"{str(directory)!r} is not a {architecture} checkpoint "
            f"(needs {CONFIG_NAME} and {WEIGHTS_NAME})"
        )
    data = json.loads(path.read_text())
    if data.pop("architecture", None) != architecture:
        raise CheckpointError(f"{str(path)!r} does not describe a {architecture} model")
    version = data.pop("format_version", None)
    data.pop(LANGUAGES_KEY, None)  # facts about the checkpoint, not model settings
    data.pop(SPLITTER_VERSION_KEY, None)
    if version != FORMAT_VERSION:
        raise CheckpointError(f"unsupported checkpoint format {version!r} in {str(path)!r}")
    if check is not None:
        check(directory)
    return config_class.from_dict(data)


def load_model_dir(
    directory: str | Path,
    config: Any,
    model_class: Callable[[Any], M],
    device: str | torch.device = "cpu",
) -> tuple[M, PreTrainedTokenizerBase]:
    """Rebuild ``model_class(config)`` (no pretrained download) and load its weights."""
    directory = Path(directory)
    model = model_class(config)
    missing, unexpected = load_model(model, str(directory / WEIGHTS_NAME), strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {str(directory)!r} do not match the config: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    return model.to(device).eval(), tokenizer


def read_splitter_version(directory: str | Path) -> int:
    """The sentence splitter version a model directory's features were made with."""
    data = _read_config(Path(directory))
    return int(data.get(SPLITTER_VERSION_KEY, UNRECORDED_SPLITTER_VERSION))


def read_language_coverage(directory: str | Path) -> LanguageCoverage:
    """The languages a model directory's encoder reads: as stored when it was saved, or
    measured now from its tokenizer files (older checkpoints, another method version).
    Cached per directory and config.json modification time."""
    path = Path(directory).resolve()
    return _language_coverage(str(path), (path / CONFIG_NAME).stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _language_coverage(directory: str, _mtime_ns: int) -> LanguageCoverage:
    found = checkpoint_coverage(directory)
    if found is not None:
        return found
    # A slow tokenizer without tokenizer.json: measure it through transformers.
    return measure_languages(AutoTokenizer.from_pretrained(directory, local_files_only=True))


def read_encoder_name(directory: str | Path) -> str:
    """The encoder a model directory was built on, as its config names it."""
    encoder = _read_config(Path(directory)).get("encoder")
    return encoder if isinstance(encoder, str) and encoder else "unknown"


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{str(directory)!r} is not a model directory (no {CONFIG_NAME})")
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise CheckpointError(f"{str(path)!r} is not a JSON object")
    return data


def read_metrics(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / METRICS_NAME
    return json.loads(path.read_text()) if path.is_file() else {}


# --- training checkpoints -----------------------------------------------------------------


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in state["state"].items():
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, values in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_checkpoint(
    directory: str | Path,
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    architecture: str,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    trainer_state: dict[str, Any],
    scaler_state: dict[str, Any] | None = None,
    extra: ExtraFiles | None = None,
) -> Path:
    """A model directory plus optimizer, schedule, RNG and trainer state (for resuming)."""
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        _write_model_files(tmp, model, tokenizer, architecture, None)
        if extra is not None:
            extra(tmp)
        write_training_state(tmp, optimizer, scheduler, trainer_state, scaler_state)
    return directory


def write_training_state(
    directory: Path,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    trainer_state: dict[str, Any],
    scaler_state: dict[str, Any] | None = None,
) -> None:
    """What resuming needs besides the model (any architecture): optimizer, schedule, RNG."""
    tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    save_file(tensors, str(directory / STATE_TENSORS))
    state = {
        "trainer": trainer_state,
        "optimizer": opt_meta,
        "scheduler": scheduler.state_dict(),
        "scaler": scaler_state,
    }
    (directory / STATE_JSON).write_text(json.dumps(state, indent=2))


def load_training_state(
    directory: str | Path,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Restore optimizer, schedule and RNG; returns (trainer_state, scaler_state)."""
    directory = Path(directory)
    tensors = load_file(str(directory / STATE_TENSORS))
    state = json.loads((directory / STATE_JSON).read_text())
    optimizer.load_state_dict(_unflatten_optimizer(tensors, state["optimizer"]))
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(tensors["rng.cpu"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    return state["trainer"], state["scaler"]


def step_dir(checkpoints: Path, step: int) -> Path:
    return checkpoints / f"step-{step:07d}"


def list_training_checkpoints(checkpoints: str | Path) -> list[Path]:
    """Complete training checkpoints, oldest first."""
    root = Path(checkpoints)
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.iterdir()
        if p.is_dir()
        and p.name.startswith("step-")
        and p.name[5:].isdigit()
        and (p / STATE_JSON).is_file()
    ]
    return sorted(found, key=lambda p: int(p.name[5:]))
