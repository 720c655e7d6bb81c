"""Serializers of the staff-only document endpoints: move between splits, label."""

from __future__ import annotations

from rest_framework import serializers

from jobs.models import Split

from .fields import StrictChoiceField, StrictIntegerField, StrictSerializer


class DocumentSplitSerializer(StrictSerializer):
    """PATCH /api/documents/{id}/: staff move a document between splits."""

    split = StrictChoiceField(choices=Split.choices, help_text="Staff only: the new split.")


class DocumentLabelsSerializer(StrictSerializer):
    """Staff labels of a document's sentences: {sentence index: 1 in summary, 0 not}."""

    labels = serializers.DictField(
        child=StrictIntegerField(min_value=0, max_value=1),
        allow_empty=False,
        help_text='{"<sentence index>": 0 or 1}; indexes as GET .../labels/ lists them.',
    )

    def validate_labels(self, value: dict) -> dict[int, int]:
        out = {}
        for key, label in value.items():
            # At most 9 digits: no document has more sentences, and int() of a key
            # over 4,300 digits raises.
            if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 10):
                raise serializers.ValidationError(f"{key!r} is not a sentence index")
            out[int(key)] = label
        return out
