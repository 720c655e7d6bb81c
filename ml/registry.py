"""Every model kind the service offers, trained or not: one :class:`Kind` entry each in
:data:`KINDS`, with its loader and what it can do.

A kind is built in (nothing to load from disk: Lead-3, TextRank, the zero-label
default), trained here (a folder ``ml/models/<name>/`` and its :class:`Architecture`),
or served only (a pretrained model the deployment names, e.g. abstractive). The web
service (``jobs.engines``) serves any kind by this table alone; docs/ml.md, "Adding a
kind", says how to add one.

Torch-free at import time: the config lookups (:func:`train_config_class`,
:func:`resolve_train_config`) import only the models' ``config.py`` modules, so a web
process can validate training params without torch. The train functions, the
summarizers and the loaders' models are imported when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ml.settings import ConfigError, Settings
from ml.training.config import LoopConfig

# Where a kind's model comes from.
BUILTIN = "builtin"  # nothing to load: always available
TRAINED = "trained"  # a checkpoint trained here (or one the deployment provides)
PRETRAINED = "pretrained"  # a pretrained model the deployment names: served, never trained

# How a kind with an ``extractor`` gets it: train's keyword (a checkpoint directory) and
# the folder of the training output that holds the copy a resumed run reuses
# (ml.models.matchsum.checkpoint.EXTRACTOR_DIR).
EXTRACTOR_ARGUMENT = "extractor_dir"
EXTRACTOR_DIR = "extractor"

# Which languages a kind reads.
ANY_LANGUAGE = "any"  # language-independent (or not measured: served as is)
MEASURED = "measured"  # per checkpoint, measured on its encoder's tokenizer (ml.languages)


def _attribute(where: str, package: str = "") -> Any:
    """``"module:attribute"``, the module under ``package`` when one is given."""
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(f"{package}.{module}" if package else module), name)


@dataclass(frozen=True)
class Architecture:
    """A trained kind's parts: the ``architecture`` its checkpoints' config.json names and
    its package ``ml/models/<name>/``, whose modules export the same names:
    ``config.TrainConfig``, ``train.train`` and ``summarizer.Summarizer``."""

    checkpoint_name: str
    package: str
    # Keyword arguments of ``train`` besides the shared ones: (CLI flag, keyword, help).
    train_arguments: tuple[tuple[str, str, str], ...] = ()
    # "module:function" checking (config, out_dir, resume, **train_arguments) before the
    # data is read (ValueError: a usage error), or None.
    preflight: str | None = None
    train_config: str = "config:TrainConfig"
    train: str = "train:train"
    summarizer: str = "summarizer:Summarizer"

    def attribute(self, where: str) -> Any:
        return _attribute(where, self.package)


@dataclass(frozen=True)
class ServingOptions:
    """How the service loads a model: the same for every kind; each loader reads what
    applies to it."""

    device: str
    precision: str  # "auto": the measured precision for the device
    max_graph_sentences: int  # the graph scorers' bound (the service's sentence limit)
    threads: int | None = None  # torch threads of a process that loads a trained model
    kind_options: Any = field(default_factory=dict)  # the kind's own settings (a JSON object)


class KindUnavailable(Exception):
    """The kind's model cannot be loaded (the message says why)."""


@dataclass(frozen=True)
class Kind:
    """One kind the service offers (``name`` is its API, database and CLI value)."""

    name: str
    label: str
    source: str  # BUILTIN, TRAINED or PRETRAINED
    # "module:function" (model: str, options: ServingOptions) -> a summarizer; ``model`` is
    # the checkpoint directory (trained), the model name (pretrained) or "" (built in).
    # Raises KindUnavailable, or ConfigError for invalid ``options.kind_options``.
    loader: str
    languages: str = ANY_LANGUAGE
    architecture: Architecture | None = None  # trained kinds only
    # The trained kind whose active version prunes documents for this one; its train
    # function takes it as EXTRACTOR_ARGUMENT and copies it to ``out_dir/EXTRACTOR_DIR``.
    extractor: str | None = None
    # The deployment setting naming the model: a pretrained kind's model, or a checkpoint
    # a trained kind serves while none is trained here ("" = none).
    model_setting: str = ""
    # The deployment setting of the kind's own loading options (options.kind_options).
    options_setting: str = ""
    # "module:function" (name) -> bool: whether a named model loads offline ("": a
    # directory that exists).
    locate: str = ""
    missing: str = ""  # what a named pretrained model that does not locate is not

    @property
    def trainable(self) -> bool:
        return self.source == TRAINED

    def load(self, model: str, options: ServingOptions) -> Any:
        return _attribute(self.loader)(model, options)

    def locates(self, name: str) -> bool:
        """Whether the model ``name`` (from :attr:`model_setting`) is there to load."""
        if not name:
            return False
        return bool(_attribute(self.locate)(name)) if self.locate else Path(name).is_dir()


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "bertsumext",
            "BertSumExt",
            TRAINED,
            "ml.registry:load_trained",
            languages=MEASURED,
            architecture=Architecture("BertSumExt", "ml.models.bertsumext"),
            model_setting="BERTSUMEXT_CHECKPOINT",
        ),
        Kind(
            "matchsum",
            "MatchSum",
            TRAINED,
            "ml.registry:load_trained",
            languages=MEASURED,
            architecture=Architecture(
                "MatchSum",
                "ml.models.matchsum",
                train_arguments=(
                    (
                        "--extractor",
                        EXTRACTOR_ARGUMENT,
                        "the trained BertSumExt checkpoint dir that prunes documents",
                    ),
                ),
                preflight="train:check_extractor",
            ),
            extractor="bertsumext",
        ),
        Kind("lead3", "Lead-3", BUILTIN, "ml.registry:load_lead3"),
        Kind("textrank", "TextRank", BUILTIN, "ml.registry:load_textrank"),
        Kind("default", "Zero-label default", BUILTIN, "ml.registry:load_zero_label"),
        Kind(
            "abstractive",
            "Abstractive (Hugging Face seq2seq)",
            PRETRAINED,
            "ml.registry:load_abstractive",
            model_setting="ABSTRACTIVE_MODEL",
            options_setting="ABSTRACTIVE_GENERATION",
            locate="ml.models.abstractive.config:is_local",
            missing=(
                "is neither a directory nor a model in the local Hugging Face cache "
                "(nothing is downloaded)"
            ),
        ),
    )
}
# The trained kinds, by name: what ``python -m ml train --model`` offers.
ARCHITECTURES: dict[str, Architecture] = {
    k.name: k.architecture for k in KINDS.values() if k.architecture is not None
}
DEFAULT_KIND = "bertsumext"  # what serves a request that names no kind, once trained
FALLBACK_KIND = "default"  # what serves when that (or a document's language) cannot


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(KINDS)}") from None


def trainable_kinds() -> tuple[str, ...]:
    """The kinds a training run can train."""
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


# --- loaders: (model, ServingOptions) -> a summarizer -----------------------------------


def load_trained(model: str, options: ServingOptions) -> Any:
    """A checkpoint trained here; this process keeps ``options.threads`` torch threads."""
    import torch

    from ml.precision import serving_precision

    if options.threads:
        torch.set_num_threads(options.threads)
    precision = options.precision
    if precision == "auto":
        precision = serving_precision(options.device)
    return load_system(Path(model), options.device, precision)


def load_lead3(model: str, options: ServingOptions) -> Any:
    from ml.text.baselines import Lead

    return Lead(3)


def load_textrank(model: str, options: ServingOptions) -> Any:
    from ml.text.baselines import TextRank

    return TextRank(max_graph_sentences=options.max_graph_sentences)


def load_zero_label(model: str, options: ServingOptions) -> Any:
    from ml.text.zero_label import ZeroLabel

    return ZeroLabel(max_graph_sentences=options.max_graph_sentences)


def load_abstractive(model: str, options: ServingOptions) -> Any:
    """The pretrained seq2seq model ``model``, offline (raises ConfigError for invalid
    generation settings)."""
    from ml.models.abstractive.config import GenerationConfig
    from ml.models.abstractive.model import AbstractiveModelNotFound
    from ml.models.abstractive.summarizer import Summarizer

    config = GenerationConfig.from_dict(options.kind_options)
    try:
        return Summarizer.load(model, options.device, config)
    except AbstractiveModelNotFound as exc:
        raise KindUnavailable(str(exc)) from exc
