"""Paths under the service's state directories, stored relative to them.

A run's directory, its TensorBoard logs and a version's checkpoint live under
TRAINING_DIR or TENSORBOARD_LOGDIR (var/ by default; a volume in compose). The
database keeps them relative to that root, so a var/ or a volume moved or restored
elsewhere (docs/deploy.md, "Backup and restore") still serves: each process resolves
them against its own setting on read. A path outside the root, and a row written
before (absolute), is kept and read as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import models


def _root(setting: str) -> str:
    return os.path.normpath(os.path.abspath(getattr(settings, setting)))


def to_stored(value: str, setting: str) -> str:
    """`value` relative to the root named by `setting` when it lies under it."""
    if not value or not os.path.isabs(value):
        return value
    root, path = _root(setting), os.path.normpath(value)
    if path == root or not path.startswith(root + os.sep):
        return value
    return os.path.relpath(path, root)


def to_absolute(value: str, setting: str) -> str:
    """A stored path as this process finds it: relative ones under its root."""
    if not value or os.path.isabs(value):
        return value
    return str(Path(_root(setting)) / value)


class StatePathField(models.CharField):
    """A CharField holding a path under the directory `settings.<root_setting>`:
    stored relative to it, read (and used) absolute."""

    def __init__(self, *args, root_setting: str = "TRAINING_DIR", **kwargs):
        self.root_setting = root_setting
        kwargs.setdefault("max_length", 500)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["root_setting"] = self.root_setting
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return value if value is None else to_absolute(value, self.root_setting)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else to_stored(str(value), self.root_setting)
