"""``python -m ml train`` options generated from the models' config dataclasses.

Every field made with ``ml.training.config.setting`` (``cli=True``) of a kind's train
config, and of its ``model`` config, becomes ``--field-name`` with the field's help
text, an argparse type from its type hint and checks, and ``default=None``: an option
left out keeps the config's default (the recipe). A field several kinds have is one
option; giving an option the chosen kind lacks is a usage error. Optional fields
also accept ``none``.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ml.cli.arguments import (
    UsageError,
    dropout,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    positive_int_list,
)
from ml.registry import model_config_class, train_config_class, trainable_kinds
from ml.settings import Settings, field_default, setting_fields

NONE = "none"  # the value of an optional setting that means None


class _ExplicitNone:
    """``--head-lr none``: the setting is None (not left to its default)."""


EXPLICIT_NONE = _ExplicitNone()


@dataclass
class ConfigOption:
    """One generated option: where it goes in the config and which kinds have it."""

    section: str  # "" (train settings) or "model"
    name: str
    hint: Any
    metadata: Mapping[str, Any]
    defaults: dict[str, Any] = field(default_factory=dict)  # kind -> its default
    helps: dict[str, str] = field(default_factory=dict)  # kind -> its help text

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return f"config.{self.section}.{self.name}"


def _base_type(hint: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if isinstance(hint, types.UnionType):
        members = [h for h in typing.get_args(hint) if h is not type(None)]
        return members[0], len(members) < len(typing.get_args(hint))
    return hint, False


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"not true or false: {value!r}")


def _number_type(base: Any, meta: Mapping[str, Any]) -> Callable[[str], Any]:
    minimum, above, below = meta.get("minimum"), meta.get("above"), meta.get("below")
    if base is int:
        if minimum is not None and minimum >= 1:
            return positive_int
        return non_negative_int if minimum == 0 else int
    if minimum == 0 and below == 1:
        return dropout
    if above == 0:
        return positive_float
    return non_negative_float if minimum == 0 else float


def argument_type(hint: Any, meta: Mapping[str, Any]) -> Callable[[str], Any]:
    """The argparse ``type=`` of a setting (range checks as the config's)."""
    base, optional = _base_type(hint)
    if typing.get_origin(base) is list:
        parse: Callable[[str], Any] = positive_int_list
    elif base is bool:
        parse = _parse_bool
    elif base in (int, float):
        parse = _number_type(base, meta)
    else:
        parse = str
    if not optional:
        return parse

    def parse_optional(value: str) -> Any:
        return EXPLICIT_NONE if value.lower() == NONE else parse(value)

    parse_optional.__name__ = getattr(parse, "__name__", "value")
    return parse_optional


def _fields(
    config_class: type[Settings], section: str
) -> list[tuple[str, dataclasses.Field[Any], Any]]:
    return [
        (section, f, hint)
        for f, hint in setting_fields(config_class)
        if f.metadata.get("cli", True) and f.name != "model"
    ]


def config_options() -> dict[str, ConfigOption]:
    """Every kind's options, by flag."""
    options: dict[str, ConfigOption] = {}
    for kind in trainable_kinds():
        found = _fields(train_config_class(kind), "")
        found += _fields(model_config_class(kind), "model")
        for section, f, hint in found:
            option = ConfigOption(section, f.name, hint, f.metadata)
            option = options.setdefault(option.flag, option)
            if option.section != section:
                raise TypeError(f"{option.flag} is a train and a model setting")
            option.defaults[kind] = field_default(f)
            option.helps[kind] = f.metadata["help"]
    return options


def _shown(value: Any) -> str:
    return NONE if value is None else repr(value)


def _help(option: ConfigOption) -> str:
    values = set(map(_shown, option.defaults.values()))
    if len(values) == 1:
        default = f"default {values.pop()}"
    else:
        default = "default " + ", ".join(f"{_shown(v)} ({k})" for k, v in option.defaults.items())
    if len(option.defaults) < len(trainable_kinds()):
        default += "; " + ", ".join(option.defaults) + " only"
    if _base_type(option.hint)[1] and any(v is not None for v in option.defaults.values()):
        default += f"; {NONE} unsets it"
    texts = dict.fromkeys(option.helps.values())
    text = (
        next(iter(texts))
        if len(texts) == 1
        else "; ".join(f"{kind}: {text}" for kind, text in option.helps.items())
    )
    return f"{text} ({default})".replace("%", "%%")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add every generated option to ``parser`` (in two groups: train and model)."""
    groups = {
        "": parser.add_argument_group("training settings (default: the model's recipe)"),
        "model": parser.add_argument_group("model settings"),
    }
    for option in config_options().values():
        choices = option.metadata.get("choices")
        groups[option.section].add_argument(
            option.flag,
            dest=option.dest,
            type=argument_type(option.hint, option.metadata),
            choices=choices,
            default=None,
            metavar=None if choices else option.name.upper(),
            help=_help(option),
        )


def config_layer(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The settings given on the command line, as a layer for ``resolve_train_config``."""
    layer: dict[str, Any] = {}
    for option in config_options().values():
        value = getattr(args, option.dest, None)
        if value is None:
            continue
        if kind not in option.defaults:
            raise UsageError(f"{option.flag} applies to --model {', '.join(option.defaults)} only")
        value = None if value is EXPLICIT_NONE else value
        target = layer.setdefault("model", {}) if option.section else layer
        target[option.name] = value
    return layer


__all__ = ["add_config_options", "config_layer", "config_options"]
