from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from jobs.admin.tensorboard import tensorboard_url
from jobs.models import (
    Document,
    ModelKind,
    ModelVersion,
    Split,
    Summary,
    TrainableKind,
    TrainingRun,
)
from jobs.services.documents import DocumentInput


class SentenceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()
    start = serializers.IntegerField(help_text="Character offset of the sentence in the text.")
    end = serializers.IntegerField(help_text="Offset one past the sentence's last character.")
    score = serializers.FloatField()
    selected = serializers.BooleanField()


class SummarySerializer(serializers.ModelSerializer):
    """A summary job: its state and, once it succeeded, every sentence with its score."""

    class Meta:
        model = Summary
        fields = [
            "id",
            "document",
            "status",
            "requested_model",
            "model",
            "model_version",
            "max_sentences",
            "attempts",
            "sentences",
            "summary",
            "notes",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    summary = serializers.CharField(source="summary_text", read_only=True)
    sentences = SentenceSerializer(many=True, read_only=True)


class SummaryBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Summary
        fields = ["id", "status", "model", "created_at"]
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer):
    """A document with the brief state of each of its summaries."""

    summaries = SummaryBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "text",
            "reference_summary",
            "split",
            "language",
            "sha256",
            "created_at",
            "summaries",
        ]
        read_only_fields = fields


class DocumentCreatedSerializer(DocumentSerializer):
    summary = serializers.SerializerMethodField()

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "summary"]
        read_only_fields = fields

    def get_summary(self, obj) -> dict | None:
        summary = self.context.get("summary_by_document", {}).get(obj.pk)
        return SummarySerializer(summary).data if summary else None


class SummarizeOptionsSerializer(serializers.Serializer):
    model = serializers.ChoiceField(
        choices=ModelKind.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Default: the active BertSumExt, else lead3 (the summary says so).",
    )
    max_sentences = serializers.IntegerField(
        required=False, default=3, min_value=1, max_value=settings.MAX_SUMMARY_SENTENCES
    )


class DocumentInputSerializer(SummarizeOptionsSerializer):
    text = serializers.CharField(
        trim_whitespace=False, allow_blank=False, max_length=settings.MAX_DOCUMENT_CHARS
    )
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    reference_summary = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    summarize = serializers.BooleanField(required=False, default=True)
    split = serializers.ChoiceField(
        choices=Split.choices,
        required=False,
        default=Split.NONE,
        help_text="Mark the document as training data: train, validation or test "
        "(with a reference_summary). Empty for documents that are only summarized.",
    )

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("text is empty: send the document's text")
        return value

    def to_input(self) -> DocumentInput:
        d = self.validated_data
        return DocumentInput(
            text=d["text"],
            title=d["title"],
            reference_summary=d["reference_summary"],
            model=d["model"],
            max_sentences=d["max_sentences"],
            summarize=d["summarize"],
            split=d["split"],
        )


class FileUploadSerializer(SummarizeOptionsSerializer):
    file = serializers.FileField(help_text=".txt, .md or .html, UTF-8")
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    reference_summary = serializers.CharField(required=False, allow_blank=True, default="")
    summarize = serializers.BooleanField(required=False, default=True)


class TrainingRunSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)
    tensorboard_url = serializers.SerializerMethodField()
    triggered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "kind",
            "status",
            "params",
            "train_split",
            "val_split",
            "trigger",
            "triggered_by",
            "parent_version",
            "version",
            "progress",
            "progress_step",
            "progress_total",
            "last_loss",
            "attempts",
            "resumed_from_step",
            "cancel_requested",
            "metrics",
            "data_sha256",
            "data_summary",
            "code_version",
            "device",
            "tensorboard_url",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_tensorboard_url(self, obj) -> str:
        return tensorboard_url(obj, self.context.get("request"))


class TrainingRunCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrainableKind.choices, default=TrainableKind.BERTSUMEXT)
    params = serializers.JSONField(
        required=False,
        default=dict,
        help_text="Training settings over the kind's recipe (fields of its ml train config)",
    )
    train_split = serializers.ChoiceField(choices=Split.choices, default=Split.TRAIN)
    val_split = serializers.ChoiceField(choices=Split.choices, default=Split.VALIDATION)


class ModelVersionSerializer(serializers.ModelSerializer):
    """Read-only: staff change versions with the promote and rollback actions."""

    promoted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "kind",
            "label",
            "run",
            "is_active",
            "metrics",
            "gate_note",
            "checkpoint_sha256",
            "promoted_at",
            "promoted_by",
            "created_at",
        ]
        read_only_fields = fields


class RollbackSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrainableKind.choices)
