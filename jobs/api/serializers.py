from __future__ import annotations

import dataclasses

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import (
    Document,
    ModelKind,
    ModelVersion,
    Split,
    Summary,
    TrainableKind,
    TrainingRun,
    VersionTransition,
)
from jobs.queries.runs import tensorboard_url
from jobs.services.documents import DocumentInput
from jobs.services.manifests import learned_from
from jobs.services.training import not_trainable
from jobs.services.versions import status_of

from .fields import (
    FieldsOncePerClass,
    FormBooleanField,
    ShapeCharField,
    ShapeChoiceField,
    ShapeFormIntegerField,
    ShapeIntegerField,
    StrictBooleanField,
    StrictChoiceField,
    StrictSerializer,
)

_SERVED_HELP = (
    "The model that serves (or served) the summary; empty while a summary that asked "
    "for the default model is queued (the worker decides then)."
)


class RoundedFloatField(serializers.FloatField):
    """A float given to 6 decimals, however it was stored (``manage.py summarize`` too)."""

    def to_representation(self, value):
        return round(float(value), 6)


class SentenceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()
    start = serializers.IntegerField(help_text="Character offset of the sentence in the text.")
    end = serializers.IntegerField(help_text="Offset one past the sentence's last character.")
    score = RoundedFloatField(help_text="The model's score (rounded to 6 decimals).")
    selected = serializers.BooleanField()


class SummarySerializer(FieldsOncePerClass, serializers.ModelSerializer):
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

    summary = serializers.CharField(
        source="summary_text",
        read_only=True,
        help_text="The summary: the selected sentences joined by spaces, or (model "
        "abstractive) the generated text.",
    )
    sentences = SentenceSerializer(
        many=True,
        read_only=True,
        help_text="Every sentence of the document in order, with its score, character "
        "offsets and whether it is in the summary. Empty for model abstractive: its "
        "summary is generated text, not sentences of the document.",
    )
    requested_model = serializers.ChoiceField(
        choices=ModelKind.choices,
        allow_blank=True,
        read_only=True,
        help_text="The model the client asked for; empty for the default.",
    )
    model = serializers.ChoiceField(
        choices=ModelKind.choices, allow_blank=True, read_only=True, help_text=_SERVED_HELP
    )


class SummaryBriefSerializer(FieldsOncePerClass, serializers.ModelSerializer):
    model = serializers.ChoiceField(
        choices=ModelKind.choices, allow_blank=True, read_only=True, help_text=_SERVED_HELP
    )

    class Meta:
        model = Summary
        fields = ["id", "status", "model", "created_at"]
        read_only_fields = fields


class DocumentSerializer(FieldsOncePerClass, serializers.ModelSerializer):
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
    """A document stored by this request: its only summary is the one queued with it
    (context "summary_by_document"), so listing its summaries needs no query."""

    summaries = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    duplicate_of = serializers.SerializerMethodField(
        help_text="Staff with the document change permission only (null for everyone "
        "else: whether a text is training data is not theirs to know): the training splits "
        "(train, validation) that already hold this text (empty: none). A duplicate "
        "shares the labels of its text; training counts it once."
    )
    warnings = serializers.SerializerMethodField(
        help_text="Sentences about this upload worth reading, e.g. (to staff with the "
        "document change permission) that it duplicates training data."
    )

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "summary", "duplicate_of", "warnings"]
        read_only_fields = fields

    def _duplicate_of(self, obj) -> list[str] | None:
        if "duplicate_of" not in self.context:
            return None  # the caller may not know which texts are training data
        return list(self.context["duplicate_of"].get(obj.pk, ()))

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_duplicate_of(self, obj) -> list[str] | None:
        return self._duplicate_of(obj)

    def get_warnings(self, obj) -> list[str]:
        splits = self._duplicate_of(obj)
        if not splits:
            return []
        return [
            f"this text is already training data (split {' and '.join(splits)}): it is "
            "stored as a duplicate, shares that text's labels and is not trained on twice"
        ]

    def _summary(self, obj):
        return self.context.get("summary_by_document", {}).get(obj.pk)

    @extend_schema_field(SummaryBriefSerializer(many=True))
    def get_summaries(self, obj) -> list[dict]:
        summary = self._summary(obj)
        return [SummaryBriefSerializer(summary).data] if summary else []

    def get_summary(self, obj) -> dict | None:
        summary = self._summary(obj)
        return SummarySerializer(summary).data if summary else None


_MODEL_HELP = (
    "Default (empty): the active BertSumExt, else the zero-label default (the summary "
    "says so in notes). default (the zero-label default), lead3 and textrank are always "
    "available; bertsumext and matchsum only once a "
    "version is active (or BERTSUMEXT_CHECKPOINT is set), abstractive only when "
    "ABSTRACTIVE_MODEL names a locally available seq2seq model, else 400."
)
# Some character that is not whitespace, and no NUL (the OpenAPI pattern says both;
# jobs.services.validation checks them).
NON_BLANK_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"
_SPLIT_HELP = (
    "Staff only (others get 403): mark the document as training data: train, validation "
    "or test (with a reference_summary). Empty for documents that are only summarized."
)

# The input fields check their JSON type only (jobs.api.fields.ShapeOnly); the limits
# they declare are for the schema, and the services check every rule.


def _max_sentences(field_class=ShapeIntegerField):
    return field_class(
        required=False, default=3, min_value=1, max_value=settings.MAX_SUMMARY_SENTENCES
    )


def _summarize(field_class=StrictBooleanField):
    return field_class(required=False, default=True)


class SummarizeOptionsSerializer(StrictSerializer):
    model = ShapeChoiceField(
        choices=ModelKind.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_MODEL_HELP,
    )
    max_sentences = _max_sentences()


# A document's fields, declared once: the file upload (FileUploadSerializer) reads the
# same ones, and their names are DocumentInput's (the service's input).
class DocumentInputSerializer(SummarizeOptionsSerializer):
    text = ShapeCharField(
        trim_whitespace=False,
        max_length=settings.MAX_DOCUMENT_CHARS,
        validators=[RegexValidator(NON_BLANK_TEXT)],
    )
    title = ShapeCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=Document._meta.get_field("title").max_length,
    )
    reference_summary = ShapeCharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    summarize = _summarize()
    split = ShapeChoiceField(
        choices=Split.choices, required=False, default=Split.NONE, help_text=_SPLIT_HELP
    )

    def to_input(self, **given) -> DocumentInput:
        """The service's input: the fields read, with ``given`` (an upload's text)."""
        names = {f.name for f in dataclasses.fields(DocumentInput)}
        read = {k: v for k, v in self.validated_data.items() if k in names}
        return DocumentInput(**{**read, **given})


class FileUploadSerializer(DocumentInputSerializer):
    """Form fields are strings: max_sentences "3" and summarize "true"/"false" are parsed."""

    # The document's fields, with a file instead of the text.
    text = None  # type: ignore[assignment]  # DRF: a parent's field set to None is removed
    file = serializers.FileField(help_text="One .txt, .md or .html file, UTF-8.")
    max_sentences = _max_sentences(ShapeFormIntegerField)
    summarize = _summarize(FormBooleanField)

    def get_fields(self):
        fields = super().get_fields()
        return {"file": fields.pop("file"), **fields}  # the file first, in the schema too


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every 4xx/5xx answer."""

    detail = serializers.CharField(help_text="One sentence that says what is wrong.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Messages by field name or batch item index (nested for items); {} when "
        "no specific field is to blame.",
    )


class TrainingRunSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)
    tensorboard_url = serializers.SerializerMethodField()
    learned_from = serializers.SerializerMethodField(help_text="What it learned from, in words")
    label_sources = serializers.SerializerMethodField(
        help_text="Counts by label source per split (ids: the run's admin page)"
    )
    compared = serializers.SerializerMethodField(
        help_text="Paired bootstrap vs Lead-3 / the fallback kind (the zero-label default) / "
        "the then active version: n, mean_difference, ci95"
    )
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
            "learned_from",
            "label_sources",
            "resolved_config",
            "compared",
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

    def get_learned_from(self, obj) -> str:
        return learned_from(obj.manifest)

    def get_label_sources(self, obj) -> dict[str, dict[str, int]]:
        manifest = obj.manifest or {}
        return {split: manifest[split] for split in ("train", "validation") if split in manifest}

    def get_compared(self, obj) -> dict[str, dict[str, float]]:
        return (obj.validation_scores or {}).get("compared", {})


class TrainableKindField(StrictChoiceField):
    """A trainable kind; a served-only kind is refused with its reason."""

    def to_internal_value(self, data):
        reason = not_trainable(data) if isinstance(data, str) else None
        if reason is not None:
            raise serializers.ValidationError(reason)
        return super().to_internal_value(data)


class TrainingRunCreateSerializer(StrictSerializer):
    kind = TrainableKindField(choices=TrainableKind.choices, default=TrainableKind.BERTSUMEXT)
    params = serializers.JSONField(
        required=False,
        default=dict,
        help_text="Training settings over the kind's recipe (fields of its ml train config)",
    )
    train_split = StrictChoiceField(choices=Split.choices, default=Split.TRAIN)
    val_split = StrictChoiceField(choices=Split.choices, default=Split.VALIDATION)


class VersionTransitionSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField(help_text='The staff username, or "gate".')

    class Meta:
        model = VersionTransition
        fields = ["from_status", "to_status", "by", "at", "reason", "compared"]
        read_only_fields = fields

    def get_by(self, obj) -> str:
        return obj.actor


class ModelVersionSerializer(serializers.ModelSerializer):
    """Read-only: staff change versions with the promote and rollback actions (and
    the description and tags in the admin)."""

    promoted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.SerializerMethodField(
        help_text="candidate, active, retired (replaced) or rolled_back"
    )
    transitions = VersionTransitionSerializer(
        many=True,
        read_only=True,
        help_text="Every promote, roll back and gate decision, newest first.",
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "kind",
            "label",
            "run",
            "is_active",
            "status",
            "description",
            "tags",
            "metrics",
            "gate_note",
            "transitions",
            "checkpoint_sha256",
            "promoted_at",
            "promoted_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_status(self, obj) -> str:
        return status_of(obj)


class RollbackSerializer(StrictSerializer):
    kind = StrictChoiceField(choices=TrainableKind.choices)
