"""A training run's data: ml Examples from the database, a digest of them, and the
run's manifest (what it learned from)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ..models import LabelOverride, TrainingRun
from ..services.manifests import (
    CORRECTION,
    labelled_documents,
    manifest_of,
    validation_documents,
)
from ..text import anchored_labels, split_sentences

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingData:
    train: list[Any]
    val: list[Any]
    sha256: str
    summary: dict[str, Any]
    manifest: dict[str, Any]


@dataclass
class Anchoring:
    """How a run's stored staff labels met the documents' sentences as split now."""

    reanchored: int = 0  # moved to the sentence with their text (the splitting changed)
    dropped: list[str] = field(default_factory=list)  # "document 7 sentence 3: 'text'"


def _labels(documents: list[Any], rows: list[tuple], anchoring: Anchoring) -> dict[int, dict]:
    """Each document's staff labels by the index of their sentence now
    (``jobs.text.anchored_labels``); labels stored without text apply by index."""
    by_document: dict[int, list[tuple[int, str, int]]] = {}
    for doc, index, text, label, _ in rows:
        by_document.setdefault(doc, []).append((index, text, label))
    overrides: dict[int, dict[int, int]] = {}
    for document in documents:
        mine = by_document.get(document.pk)
        if not mine:
            continue
        sentences: list[str] = []
        if any(text for _, text, _ in mine):
            spans = split_sentences(document.text, language=document.language or None)
            sentences = [s.text for s in spans]
        anchored = anchored_labels(sentences, mine)
        overrides[document.pk] = anchored.labels
        anchoring.reanchored += len(anchored.moved)
        anchoring.dropped += [
            f"document {document.pk} sentence {index}: {text!r}" for index, text in anchored.dropped
        ]
    return overrides


def _examples(
    queryset, anchoring: Anchoring | None = None
) -> tuple[list[Any], list[tuple[int, bool]], list[tuple[int, int, int, bool]]]:
    """The documents as ml Examples (staff labels replace oracle ones), (document id, has
    a reference summary of its own) for each, and their label overrides (document,
    sentence, label, is a correction: the label records, as ``current_manifest`` reads
    them), read once for all three. Labels are applied where their sentence is now
    (``anchoring`` counts the moved and the left out)."""
    from ml.text.data import Example

    documents = list(queryset.order_by("pk"))
    rows = list(
        LabelOverride.objects.filter(document__in=[d.pk for d in documents]).values_list(
            "document_id", "sentence_index", "sentence_text", "label", "source"
        )
    )
    overrides = _labels(documents, rows, anchoring or Anchoring())
    # Without a reference and with every label left out there is nothing to learn from.
    # (The manifest still lists it: it names the label records, as current_manifest does.)
    kept = [d for d in documents if d.reference_summary.strip() or overrides.get(d.pk) != {}]
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
        for doc in kept
    ]
    references = [(doc.pk, bool(doc.reference_summary.strip())) for doc in documents]
    labels = [(doc, index, label, source == CORRECTION) for doc, index, _, label, source in rows]
    return examples, references, labels


def build_training_data(run: TrainingRun) -> TrainingData:
    """ml Examples from the database; staff overrides replace oracle labels."""
    anchoring = Anchoring()
    train, train_references, train_labels = _examples(
        labelled_documents(run.train_split), anchoring
    )
    val, val_references, val_labels = _examples(validation_documents(run.val_split), anchoring)
    for dropped in anchoring.dropped:
        logger.warning("run %s: staff label left out, its sentence is gone: %s", run.pk, dropped)
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
        # Of those, how many the splitter moved: applied to the sentence with their text
        # at another index, or left out (no sentence, or several, has their text).
        "labels_reanchored": anchoring.reanchored,
        "labels_dropped": len(anchoring.dropped),
    }
    manifest = manifest_of(train_references, val_references, train_labels + val_labels)
    return TrainingData(train, val, digest.hexdigest(), summary, manifest)
