"""Settings dataclasses: the bottom of ``ml`` (torch-free, imports nothing of ours).

A setting is a dataclass field made with :func:`setting`: its default, a help text
(``python -m ml train --help`` shows it) and its checks (``choices``, ``minimum``,
``above``). :class:`Settings` checks every field's type and range after ``__init__``
and raises :class:`ConfigError` naming the field. The web process validates training
params with these classes, so this module imports neither torch nor transformers.
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

# Encoder name of the packaged all-MiniLM-L6-v2 (see ml.encoders); here so that the
# torch-free config modules can default to it.
DEFAULT_ENCODER = "all-MiniLM-L6-v2"


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
