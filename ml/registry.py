"""The trained models by name: their config classes, train functions and summarizers.

Torch-free at import time: the config lookups (:func:`train_config_class`,
:func:`resolve_train_config`) import only the models' ``config.py`` modules, so a web
process can validate training params without torch. The train functions and the
summarizers are imported when asked for.

A model is a folder ``ml/models/<name>/`` (see docs/ml.md, "Adding a model") and one
:class:`Architecture` entry in :data:`ARCHITECTURES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ml.settings import ConfigError, Settings
from ml.training.config import LoopConfig


@dataclass(frozen=True)
class Architecture:
    """One model: ``name`` (the kind: CLI ``--model``, the service's kinds), the
    ``architecture`` its checkpoints' config.json names, and where its parts are, as
    ``"module:attribute"`` under its package."""

    name: str
    checkpoint_name: str
    package: str
    train_config: str = "config:TrainConfig"
    train: str = "train:train"
    summarizer: str = "summarizer:Summarizer"
    # Keyword arguments of ``train`` besides the shared ones: (CLI flag, keyword, help).
    train_arguments: tuple[tuple[str, str, str], ...] = ()
    # "module:function" checking (config, out_dir, resume, **train_arguments) before the
    # data is read (ValueError: a usage error), or None.
    preflight: str | None = None

    def attribute(self, where: str) -> Any:
        module, _, name = where.partition(":")
        return getattr(importlib.import_module(f"{self.package}.{module}"), name)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("bertsumext", "BertSumExt", "ml.models.bertsumext"),
        Architecture(
            "matchsum",
            "MatchSum",
            "ml.models.matchsum",
            train_arguments=(
                (
                    "--extractor",
                    "extractor_dir",
                    "the trained BertSumExt checkpoint dir that prunes documents",
                ),
            ),
            preflight="train:check_extractor",
        ),
    )
}
DEFAULT_KIND = "bertsumext"


def kinds() -> tuple[str, ...]:
    """The known architecture names."""
    return tuple(ARCHITECTURES)


def architecture(kind: str) -> Architecture:
    try:
        return ARCHITECTURES[kind]
    except KeyError:
        raise ConfigError(
            f"unknown model {kind!r}; choose one of: {', '.join(ARCHITECTURES)}"
        ) from None


def train_config_class(kind: str) -> type[LoopConfig]:
    """The kind's train config dataclass (torch-free)."""
    config_class: type[LoopConfig] = architecture(kind).attribute(architecture(kind).train_config)
    return config_class


def model_config_class(kind: str) -> type[Settings]:
    """The class of the kind's ``model`` settings (torch-free)."""
    model_field = next(f for f in fields(train_config_class(kind)) if f.name == "model")
    factory: Callable[[], Settings] = model_field.default_factory  # type: ignore[assignment]
    return type(factory())


def train_function(kind: str) -> Callable[..., Any]:
    """``train(config, train_data, val_data, out_dir, log_dir=, on_progress=, should_stop=,
    device=, resume=, **train_arguments) -> ml.training.results.TrainResult`` (imports torch)."""
    spec = architecture(kind)
    function: Callable[..., Any] = spec.attribute(spec.train)
    return function


def resolve_train_config(kind: str, *layers: Mapping[str, Any]) -> Any:
    """The kind's train config: its defaults (the recipe), then each layer in order.

    A layer is a JSON-like mapping of train settings; its ``"model"`` mapping is merged
    key by key into the model settings. Unknown settings, wrong types and values out
    of range raise :class:`ConfigError` naming the setting.
    """
    config_class = train_config_class(kind)
    merged = config_class().to_dict()
    for layer in layers:
        if not isinstance(layer, Mapping):
            raise ConfigError(f"training settings must be a JSON object (got {layer!r})")
        for key, value in layer.items():
            if key == "model" and isinstance(value, Mapping):
                merged["model"] = {**merged["model"], **value}
            else:
                merged[key] = value
    return config_class.from_dict(merged)


def load_system(path: str | Path, device: str = "cpu", precision: str = "auto") -> Any:
    """A trained model ready to summarize, from its checkpoint directory or from a
    training output directory (its ``best/``). The architecture in config.json picks
    the summarizer; a directory naming none is read as BertSumExt, which reports what
    is wrong with it. ``precision``: see :func:`ml.precision.inference_precision`."""
    from ml.checkpoints import read_architecture, resolve_model_dir

    directory = resolve_model_dir(path)
    name = read_architecture(directory)
    spec = next(
        (a for a in ARCHITECTURES.values() if a.checkpoint_name == name),
        ARCHITECTURES[DEFAULT_KIND],
    )
    return spec.attribute(spec.summarizer).load(directory, device, precision=precision)
