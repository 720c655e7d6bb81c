"""Review rows: the sentences a run misclassified, staff label overrides, a run's scores
for every validation sentence, and the history of every review decision (so any of
them can be undone, and who did what stays)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import ErrorKind, LabelSource, ReviewStatus, RunRole
from .jobs import Document, TrainingRun


class SentenceError(models.Model):
    """A sentence the run's best model misclassified, in one of its training documents
    (likely label noise: a flip changes what the next run learns) or validation documents
    (a flip changes how the next run is judged)."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="sentence_errors")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    sentence_index = models.PositiveIntegerField()
    text = models.TextField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.PositiveSmallIntegerField(help_text="Gold label used in the run (1 = summary).")
    probability = models.FloatField(null=True, blank=True)
    kind = models.CharField(max_length=2, choices=ErrorKind.choices)
    split = models.CharField(
        max_length=16,
        choices=RunRole.choices,
        default=RunRole.VALIDATION,
        db_index=True,
        help_text="What the document was to the run: trained on, or validated on.",
    )
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
    """A staff label for one sentence: THE label record. It replaces the oracle label in
    later training runs (staff labels win). Copies of a text (same sha256) hold the same
    rows (``jobs.services.reviews`` writes them together); every change is a ReviewEvent.
    ``sentence_index`` says where the label applies under the splitting it was made with;
    ``sentence_text`` keeps it on its sentence when the splitting changes."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="label_overrides")
    sentence_index = models.PositiveIntegerField()
    sentence_text = models.TextField(
        blank=True,
        help_text="The labelled sentence as it was split when labelled: if the splitter "
        "changes, the label follows this text to its sentence (jobs.text.anchor_labels), "
        "or is left out. Empty: a label made before texts were kept (applies by index).",
    )
    label = models.PositiveSmallIntegerField(choices=[(0, "not in summary"), (1, "in summary")])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_error = models.ForeignKey(
        SentenceError, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(
        max_length=16,
        choices=[c for c in LabelSource.choices if c[0] != LabelSource.ORACLE],
        default=LabelSource.CORRECTION,
        help_text="staff: a label on a document without a reference; correction: it "
        "replaces the oracle label of a document with a reference (or a review flip).",
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


class RunPrediction(models.Model):
    """What a run's best model scored and selected in one validation document."""

    run = models.ForeignKey(
        "jobs.TrainingRun", on_delete=models.CASCADE, related_name="predictions"
    )
    document = models.ForeignKey("jobs.Document", on_delete=models.CASCADE, related_name="+")
    sentences = models.JSONField(
        default=list,
        help_text="Every sentence: index, start, end, score (null: cut off), selected, label.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "document"], name="one_prediction_per_document")
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} document {self.document_id}"


class ReviewEvent(models.Model):
    """One review decision and what it changed; undo restores the state before it."""

    ACTIONS = [
        ("flip", "Flipped the gold label"),
        ("confirm", "Confirmed the gold label"),
        ("undo", "Undid a decision"),
        ("revert", "Reverted a label override"),
        ("label", "Labelled a sentence"),
        ("unlabel", "Removed a staff label"),
    ]
    error = models.ForeignKey(
        "jobs.SentenceError", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    document = models.ForeignKey("jobs.Document", on_delete=models.CASCADE, related_name="+")
    sentence_index = models.PositiveIntegerField()
    sentence_text = models.TextField(
        blank=True,
        help_text="The sentence's text when decided: undo finds the sentence by it if the "
        "splitter changed since (jobs.text.anchor_labels). Empty: an event from before "
        "texts were kept (undo by index).",
    )
    action = models.CharField(max_length=16, choices=ACTIONS)
    status_before = models.CharField(max_length=16, blank=True)
    status_after = models.CharField(max_length=16, blank=True)
    label_before = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The staff label before (empty: none, the oracle's)."
    )
    label_after = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The staff label after (empty: none, the oracle's)."
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a later undo restored the state before this."
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} doc {self.document_id} sentence {self.sentence_index}"
