"""A training run's data: ml Examples from the database, and a digest of them."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..models import LabelOverride, TrainingRun
from ..services.training import labelled_documents


@dataclass(frozen=True)
class TrainingData:
    train: list[Any]
    val: list[Any]
    sha256: str
    summary: dict[str, Any]


def _examples(queryset) -> list[Any]:
    from ml.text.data import Example

    overrides: dict[int, dict[int, int]] = {}
    for o in LabelOverride.objects.filter(document__in=queryset):
        overrides.setdefault(o.document_id, {})[o.sentence_index] = o.label
    return [
        Example(
            id=str(doc.pk),
            text=doc.text,
            reference=doc.reference_summary,
            labels=overrides.get(doc.pk),
        )
        if doc.reference_summary.strip() or doc.pk not in overrides
        # Staff-labelled without a reference: its labels, its selected sentences as reference.
        else Example.from_labels(str(doc.pk), doc.text, overrides[doc.pk], doc.language)
        for doc in queryset.order_by("pk")
    ]


def build_training_data(run: TrainingRun) -> TrainingData:
    """ml Examples from the database; staff overrides replace oracle labels."""
    train = _examples(labelled_documents(run.train_split))
    val = _examples(labelled_documents(run.val_split))
    digest = hashlib.sha256()
    for part in (train, val):
        for ex in part:
            record = [ex.id, ex.text, ex.reference, sorted((ex.labels or {}).items())]
            digest.update(json.dumps(record).encode())
        digest.update(b"|")
    stored = Counter(
        LabelOverride.objects.filter(
            document_id__in=[int(ex.id) for ex in train + val]
        ).values_list("document_id", flat=True)
    )
    summary = {
        "train_documents": len(train),
        "validation_documents": len(val),
        # Stored staff labels (a staff-labelled Example carries a label for every sentence).
        "label_overrides": sum(stored[int(ex.id)] for ex in train + val),
    }
    return TrainingData(train, val, digest.hexdigest(), summary)
