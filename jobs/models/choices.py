"""The choices the job rows use (statuses, kinds, splits, review states)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from ml.registry import KINDS

if TYPE_CHECKING:  # without django-stubs mypy sees Django as Any: say what a member is
    from enum import StrEnum
    from typing import ClassVar

    class TextChoices(StrEnum):
        choices: ClassVar[list[tuple[str, str]]]
        values: ClassVar[list[str]]
        label: str
else:
    TextChoices = models.TextChoices


# The kinds are ml.registry's table, in its order, with its labels: ModelKind every kind,
# TrainableKind those a training run trains. (Built by the functional API, so to mypy
# they are Django's Any.) A kind added to KINDS changes the fields' choices: it needs a
# migration that alters only them (tests/jobs/models/test_migrations.py).
ModelKind = models.TextChoices(
    "ModelKind", [(k.name.upper(), (k.name, k.label)) for k in KINDS.values()]
)


class JobStatus(TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class Split(TextChoices):
    NONE = "", "None"
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"


TrainableKind = models.TextChoices(
    "TrainableKind",
    [(k.name.upper(), (k.name, k.label)) for k in KINDS.values() if k.trainable],
)


class Trigger(TextChoices):
    MANUAL = "manual", "Manual (staff)"
    SCHEDULE = "schedule", "Schedule (beat)"


class VersionStatus(TextChoices):
    CANDIDATE = "candidate", "Candidate (not serving)"
    ACTIVE = "active", "Active (serving)"
    RETIRED = "retired", "Retired (replaced)"
    ROLLED_BACK = "rolled_back", "Rolled back from"


class ErrorKind(TextChoices):
    FALSE_POSITIVE = "fp", "False positive"
    FALSE_NEGATIVE = "fn", "False negative"


class RunRole(TextChoices):
    """What a document was to a run: trained on, or validated (checkpoint selection, gate) on."""

    TRAIN = "train", "Training document"
    VALIDATION = "validation", "Validation document"


class ReviewStatus(TextChoices):
    OPEN = "open", "Open"
    CONFIRMED = "confirmed", "Model was wrong (gold label kept)"
    FLIPPED = "flipped", "Gold label flipped"


class LabelSource(TextChoices):
    """Where a sentence's training label comes from; staff labels win over the oracle's."""

    ORACLE = "oracle", "Oracle (from the reference summary)"
    STAFF = "staff", "Staff label (document without a reference)"
    CORRECTION = "correction", "Correction of an oracle label"
