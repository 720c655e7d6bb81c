"""Documents and the jobs that summarize them.

Every job is a row with a status machine, attempts, a lease token and a
heartbeat: the database is the source of truth, the broker only a doorbell
(DESIGN.md §2). All writes go through ``jobs.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ModelKind(models.TextChoices):
    BERTSUMEXT = "bertsumext", "BertSumExt"
    MATCHSUM = "matchsum", "MatchSum"
    LEAD3 = "lead3", "Lead-3"
    TEXTRANK = "textrank", "TextRank"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class Split(models.TextChoices):
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
        max_length=200, blank=True, help_text="Which trained version produced it, if any."
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
