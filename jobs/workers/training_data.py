"""A training run's data: ml Examples from the database, a digest of them, and the
run's manifest (what it learned from)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..models import LabelOverride, TrainingRun
from ..services.manifests import (
    CORRECTION,
    labelled_documents,
    manifest_of,
    validation_documents,
)


@dataclass(frozen=True)
class TrainingData:
    train: list[Any]
    val: list[Any]
    sha256: str
    summary: dict[str, Any]
    manifest: dict[str, Any]


def _examples(
    queryset,
) -> tuple[list[Any], list[tuple[int, bool]], list[tuple[int, int, int, bool]]]:
    """The documents as ml Examples (staff labels replace oracle ones), (document id, has
    a reference summary of its own) for each, and their label overrides (document,
    sentence, label, is a correction), read once for all three."""
    from ml.text.data import Example

    documents = list(queryset.order_by("pk"))
    rows = list(
        LabelOverride.objects.filter(document__in=[d.pk for d in documents]).values_list(
            "document_id", "sentence_index", "label", "source"
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
        if doc.reference_summary.strip() or doc.pk not in overrides
        # Staff-labelled without a reference: its labels, its selected sentences as reference.
        else Example.from_labels(str(doc.pk), doc.text, overrides[doc.pk], doc.language)
        for doc in documents
    ]
    references = [(doc.pk, bool(doc.reference_summary.strip())) for doc in documents]
    labels = [(doc, index, label, source == CORRECTION) for doc, index, label, source in rows]
    return examples, references, labels


def build_training_data(run: TrainingRun) -> TrainingData:
    """ml Examples from the database; staff overrides replace oracle labels."""
    train, train_references, train_labels = _examples(labelled_documents(run.train_split))
    val, val_references, val_labels = _examples(validation_documents(run.val_split))
    digest = hashlib.sha256()
    for part in (train, val):
        for ex in part:
            record = [ex.id, ex.text, ex.reference, sorted((ex.labels or {}).items())]
            digest.update(json.dumps(record).encode())
        digest.update(b"|")
    summary = {
        "train_documents": len(train),
        "validation_documents": len(val),
        # Stored staff labels (a staff-labelled Example carries a label for every sentence).
        "label_overrides": len(train_labels) + len(val_labels),
    }
    manifest = manifest_of(train_references, val_references, train_labels + val_labels)
    return TrainingData(train, val, digest.hexdigest(), summary, manifest)
