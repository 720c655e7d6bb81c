"""Model versions: the promotion gate, promote and roll back."""

import pytest
from django.utils import timezone

from jobs.models import (
    ModelVersion,
)
from jobs.services.errors import InvalidInput
from jobs.services.versions import apply_promotion_gate, promote, rollback

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


def test_promotion_gate_keeps_a_worse_version_inactive(staff, settings):
    settings.PROMOTION_TOLERANCE = 0.5
    active = ModelVersion.objects.create(
        kind="bertsumext", checkpoint_dir="/x", is_active=True, promoted_at=timezone.now()
    )
    worse = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir="/y",
        metrics={"val_rouge": 20.0, "active_val_rouge": 21.0},
    )
    assert apply_promotion_gate(worse) is False
    assert "below the active version's 21.00" in worse.gate_note
    within = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir="/z",
        metrics={"val_rouge": 20.6, "active_val_rouge": 21.0},
    )
    assert apply_promotion_gate(within) is True
    active.refresh_from_db()
    assert not active.is_active and within.is_active


def test_promote_and_rollback(staff, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "a"))
    b = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "b"))
    promote(a, staff)
    promote(b, staff)
    assert list(ModelVersion.objects.filter(is_active=True)) == [b]
    assert rollback("bertsumext", staff) == a
    a.refresh_from_db()
    assert a.is_active and a.promoted_by == staff
    with pytest.raises(InvalidInput, match="first promoted"):
        rollback("bertsumext", staff)
    gone = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "nope"))
    with pytest.raises(InvalidInput, match=r"checkpoint .* is missing"):
        promote(gone, staff)
