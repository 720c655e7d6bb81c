"""Model versions (what can serve) and the history of their status."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import TrainableKind, VersionStatus
from .jobs import TrainingRun
from .paths import StatePathField


class ModelVersion(models.Model):
    """A trained model that can serve; at most one active per kind."""

    kind = models.CharField(max_length=16, choices=TrainableKind.choices)
    run = models.OneToOneField(
        TrainingRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="version"
    )
    # Relative to TRAINING_DIR in the database, absolute when read (paths.py).
    checkpoint_dir = StatePathField(max_length=500, root_setting="TRAINING_DIR")
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
    description = models.TextField(blank=True, help_text="Staff notes: what this version is.")
    tags = models.JSONField(
        default=list, blank=True, help_text="Short labels staff give the version, e.g. cnn."
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


class VersionTransition(models.Model):
    """One change of a version's status (or a gate decision that kept it): who, when,
    why, and the metrics compared. Written by ``jobs.services.versions`` only."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=VersionStatus.choices)
    to_status = models.CharField(max_length=16, choices=VersionStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the promotion gate decided.",
    )
    reason = models.TextField()
    compared = models.JSONField(
        default=dict, blank=True, help_text="The metrics the decision compared (mean ROUGE)."
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.version}: {self.from_status} -> {self.to_status}"

    @property
    def actor(self) -> str:
        return self.by.get_username() if self.by else "gate"
