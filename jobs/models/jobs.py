"""Documents and the jobs that summarize them and train on them.

Every job is a ``LeasedJob`` (``leased``): a row with a status machine, attempts, a
lease and a heartbeat; the protocol is ``jobs.jobqueue``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .. import messages
from .choices import ModelKind, Split, TrainableKind, Trigger
from .leased import LeasedJob
from .paths import StatePathField


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


class Summary(LeasedJob):
    task_name = messages.SUMMARIZE

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

    batch_id = models.UUIDField(
        null=True, blank=True, help_text="The batch its last attempt was scored in."
    )

    sentences = models.JSONField(
        default=list,
        blank=True,
        help_text="Every sentence: index, text, start, end (character offsets), score, selected.",
    )
    summary_text = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="E.g. why a fallback model was used.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "summaries"
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"Summary {self.pk} ({self.model or 'default'}, {self.status})"


class TrainingRun(LeasedJob):
    """One training job: what it trained on, how far it got, what it measured."""

    task_name = messages.TRAIN

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
    manifest = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the run learned from: document ids per split, counts by label source.",
    )
    resolved_config = models.JSONField(
        default=dict,
        blank=True,
        help_text="The full training config, resolved at the first start; continuations use it.",
    )
    validation_scores = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per-document validation ROUGE of the model, Lead-3, the fallback kind (the "
        "zero-label default: what serves while no version is active) and the active version "
        "(the same documents, for the gate's paired bootstrap).",
    )
    code_version = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=32, blank=True)

    cancel_requested = models.BooleanField(default=False)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    last_loss = models.FloatField(null=True, blank=True)
    resumed_from_step = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set when an attempt continued from a checkpoint."
    )
    continuations = models.PositiveIntegerField(
        default=0,
        help_text="Times the run reached its task's time limit and went on in a new task "
        "from a checkpoint of that step (not failed attempts).",
    )
    # Its column was made 200 long (LeasedJob's is 255); kept so the table is unchanged.
    lease_owner = models.CharField(
        max_length=200,
        blank=True,
        help_text="The worker process holding the lease: nodename, incarnation, pid, start "
        "time (jobs.jobqueue.owners).",
    )

    metrics = models.JSONField(
        default=dict,
        blank=True,
        help_text="Validation ROUGE of the model, of the active version, of Lead-3/TextRank "
        "and of the fallback kind (the zero-label default) on the same validation set.",
    )
    # Relative to TRAINING_DIR / TENSORBOARD_LOGDIR in the database (paths.py).
    out_dir = StatePathField(max_length=500, blank=True, root_setting="TRAINING_DIR")
    tensorboard_logdir = StatePathField(
        max_length=500, blank=True, root_setting="TENSORBOARD_LOGDIR"
    )
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} run {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        return self.progress_step / self.progress_total if self.progress_total else 0.0
