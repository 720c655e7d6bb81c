"""A training run's data: ml Examples from the database, a digest of them, and the
run's manifest (what it learned from)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..models import LabelOverride, TrainingRun
from ..services.manifests import labelled_documents, manifest_of, validation_documents


@dataclass(frozen=True)
class TrainingData:
    train: list[Any]
    val: list[Any]
    sha256: str
    summary: dict[str, Any]
    manifest: dict[str, Any]


def _examples(queryset) -> tuple[list[Any], list[tuple[int, int, int, bool]]]:
    """The documents as ml Examples (staff labels replace oracle ones) and their label
    overrides (document, sentence, label, is a correction), read once for both."""
    from ml.text.data import Example

    documents = list(queryset.order_by("pk"))
    rows = list(
        LabelOverride.objects.filter(document__in=[d.pk for d in documents]).values_list(
            "document_id", "sentence_index", "label", "source_error_id"
        )
    )
    overrides: dict[int, dict[int, int]] = {}
    for doc, index, label, _ in rows:
        overrides.setdefault(doc, {})[index] = label
    examples = [
        Example(
            id=str(doc.pk),
            text=doc.text,
            reference=doc.reference_summary,
            labels=overrides.get(doc.pk),
        )
        for doc in documents
    ]
    return examples, [(doc, index, label, error is not None) for doc, index, label, error in rows]


def build_training_data(run: TrainingRun) -> TrainingData:
    """ml Examples from the database; staff overrides replace oracle labels."""
    train, train_labels = _examples(labelled_documents(run.train_split))
    val, val_labels = _examples(validation_documents(run.val_split))
    digest = hashlib.sha256()
    for part in (train, val):
        for ex in part:
            record = [ex.id, ex.text, ex.reference, sorted((ex.labels or {}).items())]
            digest.update(json.dumps(record).encode())
        digest.update(b"|")
    summary = {
        "train_documents": len(train),
        "validation_documents": len(val),
        "label_overrides": sum(len(ex.labels or {}) for ex in train + val),
    }
    manifest = manifest_of(
        [(int(ex.id), bool(ex.reference)) for ex in train],
        [(int(ex.id), True) for ex in val],
        train_labels + val_labels,
    )
    return TrainingData(train, val, digest.hexdigest(), summary, manifest)
