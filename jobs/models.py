"""Documents and the jobs that summarize them.

Every job is a row with a status machine, attempts, a lease token and a
heartbeat: the database is the source of truth, the broker only a doorbell
(``jobs.services.leases``). All writes go through ``jobs.services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
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


class Document(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents"
    )
    title = models.CharField(max_length=300, blank=True)
    text = models.TextField(help_text="The document text; sentence offsets index into it.")
    reference_summary = models.TextField(
        blank=True, help_text="Gold summary, one sentence per line; used for training and ROUGE."
    )
    split = models.CharField(
        max_length=16,
        choices=Split.choices,
        blank=True,
        default=Split.NONE,
        help_text="Dataset split for training and evaluation; empty for client documents.",
    )
    source_id = models.CharField(
        max_length=200, blank=True, help_text="Identifier in the imported dataset, if any."
    )
    language = models.CharField(max_length=8, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True, help_text="sha256 of the text.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "split"])]

    def __str__(self) -> str:
        return self.title or f"Document {self.pk}"


class Summary(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="summaries")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_model = models.CharField(
        max_length=16,
        choices=ModelKind.choices,
        blank=True,
        help_text="What the client asked for; empty means the default model.",
    )
    model = models.CharField(
        max_length=16,
        choices=ModelKind.choices,
        blank=True,
        help_text="The model that produced (or will produce) this summary.",
    )
    model_version = models.CharField(
        max_length=200, blank=True, help_text="Label of the version that produced it."
    )
    version = models.ForeignKey(
        "ModelVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="summaries",
        help_text="The trained version that produced it (empty for baselines).",
    )
    max_sentences = models.PositiveSmallIntegerField(default=3)

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.UUIDField(
        null=True, blank=True, help_text="Identifies the attempt that owns the running job."
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last sent to the broker.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    sentences = models.JSONField(
        default=list,
        blank=True,
        help_text="Every sentence: index, text, start, end (character offsets), score, selected.",
    )
    summary_text = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="E.g. why a fallback model was used.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "summaries"
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"Summary {self.pk} ({self.model or 'default'}, {self.status})"


class TrainableKind(TextChoices):
    BERTSUMEXT = "bertsumext", "BertSumExt"
    MATCHSUM = "matchsum", "MatchSum"


class Trigger(TextChoices):
    MANUAL = "manual", "Manual (staff)"
    SCHEDULE = "schedule", "Schedule (beat)"


class TrainingRun(models.Model):
    """One training job: what it trained on, how far it got, what it measured."""

    kind = models.CharField(max_length=16, choices=TrainableKind.choices)
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text="Training settings over the kind's recipe (JSON; ml config fields).",
    )
    train_split = models.CharField(max_length=16, choices=Split.choices, default=Split.TRAIN)
    val_split = models.CharField(max_length=16, choices=Split.choices, default=Split.VALIDATION)
    data_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Hash of the exact training and validation data."
    )
    data_summary = models.JSONField(
        default=dict, blank=True, help_text="Document counts, label overrides, what was cut."
    )
    code_version = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=32, blank=True)

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.UUIDField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    last_loss = models.FloatField(null=True, blank=True)
    resumed_from_step = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set when an attempt continued from a checkpoint."
    )

    metrics = models.JSONField(
        default=dict,
        blank=True,
        help_text="Validation ROUGE of the model, of the active version and of Lead-3/TextRank "
        "on the same validation set.",
    )
    out_dir = models.CharField(max_length=500, blank=True)
    tensorboard_logdir = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    parent_version = models.ForeignKey(
        "ModelVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="child_runs",
        help_text="The active version when this run started (what it must not regress from).",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} run {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        return self.progress_step / self.progress_total if self.progress_total else 0.0


class ModelVersion(models.Model):
    """A trained model that can serve; at most one active per kind."""

    kind = models.CharField(max_length=16, choices=TrainableKind.choices)
    run = models.OneToOneField(
        TrainingRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="version"
    )
    checkpoint_dir = models.CharField(max_length=500)
    checkpoint_sha256 = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rolled_back_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when staff rolled back from this version."
    )
    gate_note = models.TextField(
        blank=True, help_text="Why the promotion gate did or did not promote it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(is_active=True), name="one_active_per_kind"
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.kind} v{self.pk}"


class ErrorKind(TextChoices):
    FALSE_POSITIVE = "fp", "False positive"
    FALSE_NEGATIVE = "fn", "False negative"


class ReviewStatus(TextChoices):
    OPEN = "open", "Open"
    CONFIRMED = "confirmed", "Model was wrong (gold label kept)"
    FLIPPED = "flipped", "Gold label flipped"


class SentenceError(models.Model):
    """A validation sentence the model misclassified in a run."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="sentence_errors")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    sentence_index = models.PositiveIntegerField()
    text = models.TextField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.PositiveSmallIntegerField(help_text="Gold label used in the run (1 = summary).")
    probability = models.FloatField(null=True, blank=True)
    kind = models.CharField(max_length=2, choices=ErrorKind.choices)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN, db_index=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "misclassified sentence"
        ordering = ["run", "document", "sentence_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "document", "sentence_index"], name="one_error_per_sentence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


class LabelOverride(models.Model):
    """A staff label for one sentence; replaces the oracle label in later training runs."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="label_overrides")
    sentence_index = models.PositiveIntegerField()
    label = models.PositiveSmallIntegerField(choices=[(0, "not in summary"), (1, "in summary")])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_error = models.ForeignKey(
        SentenceError, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document", "sentence_index"], name="one_override_per_sentence"
            )
        ]

    def __str__(self) -> str:
        return f"doc {self.document_id} sentence {self.sentence_index} -> {self.label}"


class ScheduleRun(models.Model):
    """The outcome of a periodic task's runs: beat's own "last run" is when it *sent*
    one (or tried to), so only this says whether the schedule works."""

    schedule = models.CharField(
        max_length=200,
        unique=True,
        help_text="The PeriodicTask's name (beat's periodic_task_name header), else the task's.",
    )
    task = models.CharField(max_length=200, help_text="The Celery task name.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="The last failure's exception.")
    successes = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.schedule
