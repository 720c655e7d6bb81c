"""Settings dataclasses and the training-loop settings every model shares. Torch-free.

The web process validates training params with these classes, so this module (and
every ``ml/models/*/config.py``) imports neither torch nor transformers.

A setting is a dataclass field made with :func:`setting`: its default, a help text
(``python -m ml train --help`` shows it) and its checks (``choices``, ``minimum``,
``above``). :class:`Settings` checks every field's type and range after ``__init__``
and raises :class:`ConfigError` naming the field. :class:`LoopConfig` holds the fields
of the optimisation loop (``ml.training.loop``); a model's train config extends it
with a ``model`` field (that model's config) and its own settings.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

S = TypeVar("S", bound="Settings")
_NO_DEFAULT: Any = dataclasses.MISSING


class ConfigError(ValueError):
    """A setting is unknown, of the wrong type or out of range; the message names it."""


def setting(
    default: Any = _NO_DEFAULT,
    *,
    help: str,
    factory: Callable[[], Any] | None = None,
    choices: tuple[Any, ...] | None = None,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    cli: bool = True,
) -> Any:
    """A dataclass field with its help text and checks (``cli=False``: no train option)."""
    metadata = {
        "help": help,
        "choices": choices,
        "minimum": minimum,
        "above": above,
        "below": below,
        "cli": cli,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _type_name(hint: Any) -> str:
    if isinstance(hint, types.UnionType):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if isinstance(hint, type) and issubclass(hint, Settings):
        return f"a JSON object of {hint.__name__} settings"
    return getattr(hint, "__name__", str(hint))


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` (JSON-ish: an int is a float, a bool is no int)."""
    if hint is Any:
        return True
    if isinstance(hint, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list | tuple) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _range_error(name: str, value: Any, meta: Mapping[str, Any]) -> str | None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        return f"{name} must be one of {', '.join(map(repr, choices))} (got {value!r})"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if meta.get("minimum") is not None and value < meta["minimum"]:
        return f"{name} must be >= {meta['minimum']} (got {value!r})"
    if meta.get("above") is not None and value <= meta["above"]:
        return f"{name} must be > {meta['above']} (got {value!r})"
    if meta.get("below") is not None and value >= meta["below"]:
        return f"{name} must be < {meta['below']} (got {value!r})"
    return None


@dataclass
class Settings:
    """Base of every config dataclass: typed, range-checked, JSON round trip."""

    # How error messages and ``unknown`` errors call this config's fields.
    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            hint = hints[f.name]
            nested = _settings_class(hint)
            if nested is not None and isinstance(value, Mapping):
                setattr(self, f.name, nested.from_dict(value))
                continue
            if not _matches(value, hint):
                raise ConfigError(
                    f"{self._name(f.name)} must be {_type_name(hint)} (got {value!r})"
                )
            if hint is float and isinstance(value, int):
                setattr(self, f.name, float(value))
            error = _range_error(self._name(f.name), value, f.metadata)
            if error is not None:
                raise ConfigError(error)

    @classmethod
    def _name(cls, name: str) -> str:
        return f"{cls.section}.{name}" if cls.section else name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any]) -> S:
        """``cls(**data)``, with unknown keys a :class:`ConfigError` naming them."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.section or 'settings'} must be a JSON object (got {data!r})")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            names = ", ".join(cls._name(str(k)) for k in unknown)
            raise ConfigError(f"unknown {cls.__name__} setting(s): {names}")
        return cls(**data)


def _settings_class(hint: Any) -> type[Settings] | None:
    if isinstance(hint, type) and issubclass(hint, Settings):
        return hint
    return None


def setting_fields(cls: type[Settings]) -> list[tuple[dataclasses.Field[Any], Any]]:
    """``(field, type hint)`` of every field of ``cls``, in declaration order."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in fields(cls)]


def field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


@dataclass
class LoopConfig(Settings):
    """The settings of the optimisation loop, shared by every model's train config."""

    # Optimisation.
    batch_size: int = setting(4, minimum=1, help="training items per micro-batch")
    grad_accum: int = setting(1, minimum=1, help="micro-batches per optimizer step")
    weight_decay: float = setting(0.01, minimum=0, help="AdamW weight decay")
    schedule: str = setting(
        "linear",
        choices=("linear", "noam"),
        help="linear: warmup then linear decay to 0; noam: PreSumm's inverse square root",
    )
    warmup_steps: int = setting(50, minimum=0, help="optimizer steps of learning-rate warmup")
    epochs: float = setting(1.0, minimum=0, help="passes over the training items")
    max_steps: int | None = setting(
        None, minimum=0, help="optimizer steps (overrides epochs; 0: epochs decide)"
    )
    max_minutes: float | None = setting(
        None, minimum=0, help="stop (checkpoint + validate) after this many minutes"
    )
    max_grad_norm: float = setting(1.0, minimum=0, help="gradient clipping norm")
    precision: str = setting(
        "auto",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="auto: fp32 on CPU, bf16 (or fp16) on CUDA; fp16 needs CUDA",
    )
    log_every: int = setting(10, minimum=1, help="TensorBoard train scalars every N steps")
    eval_every: int = setting(
        200, minimum=1, help="validation (and a checkpoint) every N optimizer steps"
    )
    checkpoint_every: int | None = setting(
        None, minimum=0, help="extra checkpoints for resuming every N steps (default: eval_every)"
    )
    keep_checkpoints: int = setting(2, minimum=1, help="training checkpoints kept for resuming")
    # At the end, also validate the mean weights of the last 2..N checkpoints and keep one
    # that beats the best single step (0: off); that many checkpoints are kept meanwhile.
    average_checkpoints: int = setting(
        0,
        minimum=0,
        help="at the end, try the mean weights of the last 2..N checkpoints (0: off)",
    )
    select_by: str = setting(
        "rouge",
        choices=("rouge", "loss"),
        help="keep the best model by rouge (mean R1/R2/RLsum) or validation loss",
    )
    val_limit: int | None = setting(
        None, minimum=0, help="validate on the first N documents (0: all)"
    )
    summary_sentences: int = setting(3, minimum=1, help="sentences per validation summary")
    seed: int = setting(1, help="seed of the initialisation and the data order")
    cache_dir: str | None = setting(None, help="features cache (default: OUT/cache)")
    init_from: str | None = setting(None, help="start from a trained checkpoint dir (retraining)")
    score_train_documents: int = setting(
        0,
        minimum=0,
        help="after training, score the first N training documents with the best model "
        "(their misclassified sentences are likely label noise; 0: none)",
    )
