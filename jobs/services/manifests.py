"""What a training run learns from: the documents of each split, their labels by source,
and the run's manifest of them (``TrainingRun.manifest``), which the schedule compares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q

from ..models import Document, LabelOverride, LabelSource, Split


def labelled_documents(split: str):
    """Documents of `split` to train (or validate) on: with a reference summary or staff
    labels (a staff-labelled document needs no reference). One per text: copies (same
    sha256) share their labels, so only the oldest copy counts."""
    has_override = LabelOverride.objects.filter(document=OuterRef("pk"))
    labelled = Document.objects.filter(split=split).filter(
        ~Q(reference_summary="") | Exists(has_override)
    )
    earlier_copy = labelled.filter(sha256=OuterRef("sha256"), pk__lt=OuterRef("pk"))
    return labelled.exclude(Exists(earlier_copy))


def validation_documents(split: str):
    """Documents of `split` to validate on: the same rule (a staff-labelled document is
    judged against its staff-selected sentences)."""
    return labelled_documents(split)


STAFF = LabelSource.STAFF.value  # a staff label on a document without a reference
CORRECTION = LabelSource.CORRECTION.value  # replaces an oracle label (or a review flip)


def manifest_of(
    train: list[tuple[int, bool]],
    validation: list[tuple[int, bool]],
    overrides: Iterable[tuple[int, int, int, bool]],
) -> dict[str, Any]:
    """A run's training manifest from (document id, has a reference) per split and the
    label overrides (document id, sentence, label, is a correction) of those documents:
    the document ids per split, counts by label source, every staff label, and a digest
    of all of it (what the schedule compares)."""
    train_ids = sorted({int(pk) for pk, _ in train})
    val_ids = sorted({int(pk) for pk, _ in validation})
    labels = sorted(
        [int(doc), int(index), int(label), CORRECTION if correction else STAFF]
        for doc, index, label, correction in overrides
    )

    def counts(documents: list[tuple[int, bool]]) -> dict[str, int]:
        ids = {int(pk) for pk, _ in documents}
        mine = [row for row in labels if row[0] in ids]
        return {
            "documents": len(ids),
            "reference_summaries": sum(1 for _, has_reference in documents if has_reference),
            "staff_labelled_documents": len({row[0] for row in mine if row[3] == STAFF}),
            "staff_labels": sum(1 for row in mine if row[3] == STAFF),
            "corrections": sum(1 for row in mine if row[3] == CORRECTION),
        }

    manifest: dict[str, Any] = {
        "train_documents": train_ids,
        "validation_documents": val_ids,
        "train": counts(train),
        "validation": counts(validation),
        "labels": labels,
    }
    manifest["sha256"] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    return manifest


def current_manifest(train_split: str = Split.TRAIN, val_split: str = Split.VALIDATION):
    """The manifest a run started now would have (ids and labels only: no texts read)."""
    has_reference = ExpressionWrapper(~Q(reference_summary=""), output_field=BooleanField())
    train = list(
        labelled_documents(train_split)
        .annotate(has_reference=has_reference)
        .values_list("pk", "has_reference")
        .order_by("pk")
    )
    val = list(
        validation_documents(val_split)
        .annotate(has_reference=has_reference)
        .values_list("pk", "has_reference")
        .order_by("pk")
    )
    ids = [pk for pk, _ in train + val]
    overrides = LabelOverride.objects.filter(document_id__in=ids).values_list(
        "document_id", "sentence_index", "label", "source"
    )
    return manifest_of(
        [(pk, bool(reference)) for pk, reference in train],
        [(pk, bool(reference)) for pk, reference in val],
        [(doc, index, label, source == CORRECTION) for doc, index, label, source in overrides],
    )


def counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def learned_from(manifest: dict[str, Any]) -> str:
    """The manifest as a sentence: "learned from 6,390 reference summaries, 120
    staff-labelled documents, 35 corrections; validated on 300 documents"."""
    if not manifest:
        return "not recorded (the run has not read its data yet, or predates manifests)"
    train, val = manifest["train"], manifest["validation"]
    parts = [
        counted(train["reference_summaries"], "reference summary", "reference summaries"),
        counted(train["staff_labelled_documents"], "staff-labelled document"),
        counted(train["corrections"], "correction"),
    ]
    checked = counted(val["documents"], "document")
    fixed = val["corrections"] + val["staff_labels"]
    if fixed:
        checked += f" ({counted(fixed, 'staff label')} among them)"
    return f"learned from {', '.join(parts)}; validated on {checked}"


def changes(now: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """What is new in `now` against `before`, in words; labels removed count too."""
    old_docs = set(before.get("train_documents", [])) | set(before.get("validation_documents", []))
    new_docs = (set(now["train_documents"]) | set(now["validation_documents"])) - old_docs
    gone_docs = old_docs - set(now["train_documents"]) - set(now["validation_documents"])
    old_labels = {tuple(row) for row in before.get("labels", [])}
    new_labels = {tuple(row) for row in now["labels"]}
    added = new_labels - old_labels
    removed = old_labels - new_labels
    out = []
    if new_docs:
        out.append(counted(len(new_docs), "new labelled document"))
    corrections = sum(1 for row in added if row[3] == CORRECTION)
    staff = sum(1 for row in added if row[3] == STAFF)
    if corrections:
        out.append(counted(corrections, "correction"))
    if staff:
        out.append(counted(staff, "new staff label"))
    if removed:
        out.append(counted(len(removed), "label removed", "labels removed"))
    if gone_docs:
        out.append(counted(len(gone_docs), "document left the data", "documents left the data"))
    return out
