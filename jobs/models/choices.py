"""The choices the job rows use (statuses, kinds, splits, review states)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:  # without django-stubs mypy sees Django as Any: say what a member is
    from enum import StrEnum
    from typing import ClassVar

    class TextChoices(StrEnum):
        choices: ClassVar[list[tuple[str, str]]]
        values: ClassVar[list[str]]
        label: str
else:
    TextChoices = models.TextChoices


class ModelKind(TextChoices):
    BERTSUMEXT = "bertsumext", "BertSumExt"
    MATCHSUM = "matchsum", "MatchSum"
    LEAD3 = "lead3", "Lead-3"
    TEXTRANK = "textrank", "TextRank"
    DEFAULT = "default", "Zero-label default"
    ABSTRACTIVE = "abstractive", "Abstractive (Hugging Face seq2seq)"


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


class TrainableKind(TextChoices):
    BERTSUMEXT = "bertsumext", "BertSumExt"
    MATCHSUM = "matchsum", "MatchSum"


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
