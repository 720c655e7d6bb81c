"""Model versions: the promotion gate, manual promote and roll back."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ModelVersion
from .documents import InvalidInput

logger = logging.getLogger(__name__)

GATE_METRIC = "val_rouge"  # mean of validation ROUGE-1/2/Lsum F1


def checkpoint_sha256(directory: Path) -> str:
    """sha256 of the weights file, so a served model can be traced to its bytes."""
    from ml.checkpoints import WEIGHTS_NAME

    digest = hashlib.sha256()
    with open(Path(directory) / WEIGHTS_NAME, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def evaluate_version(version: ModelVersion, examples: list[Any], device: str) -> dict | None:
    """ROUGE of a stored version on the given examples (the new run's validation set)."""
    from ml.evaluate import evaluate
    from ml.registry import load_system

    if not Path(version.checkpoint_dir).is_dir():
        logger.warning("%s: checkpoint %s is missing", version, version.checkpoint_dir)
        return None
    scores = evaluate(load_system(version.checkpoint_dir, device), examples)
    return {
        "val_rouge1": scores.rouge1,
        "val_rouge2": scores.rouge2,
        "val_rougeLsum": scores.rougeLsum,
        GATE_METRIC: (scores.rouge1 + scores.rouge2 + scores.rougeLsum) / 3,
    }


@transaction.atomic
def _activate(version: ModelVersion, by=None, note: str = "") -> None:
    ModelVersion.objects.select_for_update().filter(kind=version.kind, is_active=True).exclude(
        pk=version.pk
    ).update(is_active=False)
    version.is_active = True
    version.promoted_at = timezone.now()
    version.promoted_by = by
    version.rolled_back_at = None
    if note:
        version.gate_note = note
    version.save(
        update_fields=["is_active", "promoted_at", "promoted_by", "rolled_back_at", "gate_note"]
    )


def apply_promotion_gate(version: ModelVersion) -> bool:
    """Promote `version` unless it scores below the active one on the same validation set.

    The run measured the active version on its own validation documents
    (``active_val_rouge``), so both numbers come from the same data.
    """
    metrics = version.metrics
    new = metrics.get(GATE_METRIC)
    old = metrics.get(f"active_{GATE_METRIC}")
    tolerance = settings.PROMOTION_TOLERANCE
    if new is None:
        version.gate_note = "not promoted: the run measured no validation ROUGE"
        version.save(update_fields=["gate_note"])
        return False
    if old is not None and new < old - tolerance:
        version.gate_note = (
            f"not promoted: validation ROUGE {new:.2f} is below the active version's "
            f"{old:.2f} on the same documents (tolerance {tolerance:.2f})"
        )
        version.save(update_fields=["gate_note"])
        return False
    reason = (
        f"promoted: validation ROUGE {new:.2f} vs active {old:.2f}"
        if old is not None
        else f"promoted: first {version.kind} version (validation ROUGE {new:.2f})"
    )
    _activate(version, note=reason)
    return True


def promote(version: ModelVersion, by) -> None:
    """Staff: make this version the active one of its kind, whatever its metrics."""
    if not Path(version.checkpoint_dir).is_dir():
        raise InvalidInput(f"the checkpoint of {version} is missing: {version.checkpoint_dir}")
    _activate(version, by=by, note=f"promoted by {by} at {timezone.now():%Y-%m-%d %H:%M}")


def rollback_target(kind: str) -> ModelVersion | None:
    """The version a roll back would re-activate: the one promoted before the active one,
    skipping versions already rolled back from."""
    current = ModelVersion.objects.filter(kind=kind, is_active=True).first()
    if current is None or current.promoted_at is None:
        return None
    return (
        ModelVersion.objects.filter(
            kind=kind,
            promoted_at__isnull=False,
            promoted_at__lt=current.promoted_at,
            rolled_back_at__isnull=True,
        )
        .exclude(pk=current.pk)
        .order_by("-promoted_at")
        .first()
    )


@transaction.atomic
def rollback(kind: str, by) -> ModelVersion:
    """Staff: re-activate the version that was active before the current one.

    Walks back through history: a version rolled back from is skipped by later
    roll backs (promoting it by hand puts it back in the history).
    """
    current = ModelVersion.objects.select_for_update().filter(kind=kind, is_active=True).first()
    if current is None:
        raise InvalidInput(f"no {kind} version is active")
    previous = rollback_target(kind)
    if previous is None:
        raise InvalidInput(
            f"{current} is the first promoted {kind} version; nothing to roll back to"
        )
    current.rolled_back_at = timezone.now()
    current.save(update_fields=["rolled_back_at"])
    promote(previous, by)
    return previous
