"""Model versions: the promotion gate, promote and roll back, and their history."""

import pytest
from django.utils import timezone

from jobs.models import ModelVersion, VersionTransition
from jobs.services.errors import InvalidInput
from jobs.services.versions import (
    apply_promotion_gate,
    describe,
    measured_against,
    promote,
    rollback,
)
from tests.jobs.training_fixtures import measured_version, per_document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]

LEAD3 = {"lead3_rouge1": 30.0, "lead3_rouge2": 12.0, "lead3_rougeLsum": 27.0}  # mean 23.0
LEAD3_DOCS = per_document(23.0)  # Lead-3's per-document scores (mean 23.0)
FALLBACK_DOCS = per_document(23.0)  # the zero-label default's (mean 23.0)


def history(version):
    return list(
        VersionTransition.objects.filter(version=version)
        .order_by("at", "id")
        .values_list("from_status", "to_status", "by", "reason")
    )


def test_promotion_gate_keeps_a_worse_version_inactive(staff, settings, tmp_path):
    settings.PROMOTION_TOLERANCE = 0.5
    (tmp_path / "x").mkdir()
    active = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir=str(tmp_path / "x"),
        is_active=True,
        promoted_at=timezone.now(),
    )
    serving = per_document(21.0)
    worse = measured_version(
        "/y",
        candidate=per_document(20.0, pattern=1),
        lead3=per_document(15.0),
        active=serving,
        active_version=active.pk,
    )
    assert apply_promotion_gate(worse) is False
    assert worse.gate_note.startswith("not promoted: -1.00 ROUGE (95% interval -")
    assert f"n=32) against the active version {active} on the same" in worse.gate_note
    assert "is not above -0.50 (minus PROMOTION_TOLERANCE), so it may be worse" in worse.gate_note
    [(before, after, by, reason)] = history(worse)
    assert (before, after, by, reason) == ("candidate", "candidate", None, worse.gate_note)
    gate_row = VersionTransition.objects.get(version=worse)
    assert gate_row.actor == "gate"
    low, high = gate_row.compared.pop("ci95")
    assert low < -1.0 < high and low < -0.5
    assert gate_row.compared == {
        "val_rouge": 20.0,
        "active_val_rouge": 21.0,
        "active_version": active.pk,
        "n": 32,
        "difference": pytest.approx(-1.0),
        "tolerance": 0.5,
        "min_documents": 30,
        "resamples": 2000,
    }
    # 0.4 points lower, measured closely (the interval stays above -0.5): within the
    # tolerance, promoted.
    within = measured_version(
        "/z",
        candidate=per_document(20.6, spread=0.05, pattern=1),
        lead3=per_document(15.0),
        active=per_document(21.0, spread=0.05),
        active_version=active.pk,
    )
    assert apply_promotion_gate(within) is True
    assert within.gate_note.startswith("promoted: -0.40 ROUGE (95% interval -0.4")
    active.refresh_from_db()
    assert not active.is_active and within.is_active
    assert history(within)[0][:3] == ("candidate", "active", None)
    assert history(active)[-1][:2] == ("active", "retired")


def test_with_nothing_active_the_gate_compares_with_the_zero_label_default(settings):
    """While no version is active the zero-label default serves (engines.resolve), so a
    first version must beat it, not Lead-3: here it beats Lead-3 clearly and is still
    kept."""
    settings.PROMOTION_TOLERANCE = 0.0
    below = measured_version(
        "/a",
        candidate=per_document(21.75, pattern=1),
        lead3=per_document(15.0),
        fallback=FALLBACK_DOCS,
    )
    assert apply_promotion_gate(below) is False
    below.refresh_from_db()
    assert not below.is_active
    assert below.gate_note.startswith("not promoted: -1.25 ROUGE (95% interval -")
    assert "n=32) against the Zero-label default on the same validation" in below.gate_note
    assert below.gate_note.endswith("so it may be worse; the Zero-label default keeps serving")
    compared = VersionTransition.objects.get(version=below).compared
    assert (compared["fallback_kind"], compared["fallback_rouge"]) == ("default", 23.0)

    settings.PROMOTION_TOLERANCE = 3.0  # may lose up to 3 points: promoted
    assert apply_promotion_gate(below) is True
    assert below.gate_note.startswith("promoted: first bertsumext version, -1.25 ROUGE (95%")
    assert "n=32) against the Zero-label default on the same validation" in below.gate_note

    none = measured_version("/b", kind="matchsum", candidate=[40.0] * 32, lead3=None)
    assert apply_promotion_gate(none) is False
    assert none.gate_note == (
        "not promoted: no version is active, so the Zero-label default serves meanwhile, "
        "and the run did not measure it"
    )


def test_a_run_made_before_the_fallback_was_measured_is_not_compared_with_lead3(settings):
    """Its stored scores still work: the gate refuses and says why (beating Lead-3 does
    not show it beats what serves); staff can promote it by hand."""
    settings.PROMOTION_TOLERANCE = 100.0
    old = measured_version("/o", candidate=per_document(40.0, pattern=1), lead3=LEAD3_DOCS)
    assert apply_promotion_gate(old) is False
    assert old.gate_note == (
        "not promoted: no version is active, so the Zero-label default serves meanwhile, "
        "and the run measured Lead-3 but not it (the run finished before runs measured "
        "what serves meanwhile); train again or promote by hand"
    )
    compared = VersionTransition.objects.get(version=old).compared
    assert (compared["lead3_rouge"], compared["fallback_rouge"]) == (23.0, None)
    # Its pages still show the Lead-3 comparison it has.
    assert [m.against for m in measured_against(old.run)] == ["Lead-3"]


def test_a_fallback_other_than_the_one_serving_is_not_compared(settings, monkeypatch):
    from jobs import engines

    settings.PROMOTION_TOLERANCE = 100.0
    measured = measured_version(
        "/m", candidate=per_document(40.0), lead3=LEAD3_DOCS, fallback=FALLBACK_DOCS
    )
    monkeypatch.setattr(engines, "fallback_kind", lambda: "textrank")
    assert apply_promotion_gate(measured) is False
    assert measured.gate_note.startswith(
        "not promoted: the run measured the Zero-label default, but the TextRank serves"
    )


def test_a_higher_mean_on_noise_is_not_promoted(settings):
    """Issue #22: a model that beats what serves on average but not reliably (the
    interval reaches below zero) keeps it serving; a clear win is promoted."""
    settings.PROMOTION_TOLERANCE = 0.0
    noisy = measured_version(
        "/n",
        candidate=per_document(24.0, spread=10.0, pattern=1),
        lead3=LEAD3_DOCS,
        fallback=FALLBACK_DOCS,
    )
    assert noisy.metrics["val_rouge"] > noisy.metrics["fallback_rouge1"]
    assert apply_promotion_gate(noisy) is False
    low, high = VersionTransition.objects.get(version=noisy).compared["ci95"]
    assert low < 0 < high
    clear = measured_version(
        "/c", candidate=per_document(26.0, pattern=1), lead3=LEAD3_DOCS, fallback=FALLBACK_DOCS
    )
    assert apply_promotion_gate(clear) is True


def test_too_few_validation_documents_never_promote(settings):
    settings.PROMOTION_TOLERANCE = 100.0
    settings.PROMOTION_MIN_DOCUMENTS = 30
    few = measured_version(
        "/f", candidate=[40.0, 41.0, 42.0], lead3=[20.0, 21.0, 22.0], fallback=[20.0] * 3
    )
    assert apply_promotion_gate(few) is False
    assert few.gate_note.startswith(
        "not promoted: only 3 validation documents with a reference summary; the gate "
        "needs at least 30 (PROMOTION_MIN_DOCUMENTS)"
    )
    settings.PROMOTION_MIN_DOCUMENTS = 3
    assert apply_promotion_gate(few) is True


def test_an_active_version_that_cannot_be_measured_blocks_the_gate(tmp_path):
    """Issue #14: this used to promote with the note "first version"."""
    gone = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir=str(tmp_path / "deleted"),
        is_active=True,
        promoted_at=timezone.now(),
    )
    # The worker records which version it tried to measure even when it could not.
    candidate = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir="/c",
        metrics={"val_rouge": 99.0, "active_version": gone.pk, **LEAD3},
    )
    assert apply_promotion_gate(candidate) is False
    assert f"the active version {gone} could not be measured" in candidate.gate_note
    assert "checkpoint" in candidate.gate_note and "is missing" in candidate.gate_note
    assert "first" not in candidate.gate_note
    gone.refresh_from_db()
    assert gone.is_active

    (tmp_path / "deleted").mkdir()  # present but not measured (an older run's metrics)
    unmeasured = ModelVersion.objects.create(
        kind="bertsumext", checkpoint_dir="/d", metrics={"val_rouge": 99.0, **LEAD3}
    )
    assert apply_promotion_gate(unmeasured) is False
    assert "the run did not measure it" in unmeasured.gate_note


def test_staff_promote_over_the_gate_is_in_the_history(staff, tmp_path):
    (tmp_path / "a").mkdir()
    kept = measured_version(
        tmp_path / "a",
        candidate=per_document(20.0),
        lead3=LEAD3_DOCS,
        fallback=per_document(24.0),
    )
    apply_promotion_gate(kept)
    promote(kept, staff)
    kept.refresh_from_db()
    assert kept.is_active and kept.gate_note.startswith("not promoted")  # the gate's own note
    last = VersionTransition.objects.filter(version=kept).first()  # newest first
    assert (last.from_status, last.to_status, last.by) == ("candidate", "active", staff)
    assert "over the gate (not promoted: -4.00 ROUGE (95% interval" in last.reason
    assert last.compared == {"val_rouge": 20.0, "lead3_rouge": 23.0, "fallback_rouge": 24.0}


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
    assert [h[:2] for h in history(a)] == [
        ("candidate", "active"),
        ("active", "retired"),
        ("retired", "active"),
    ]
    assert [h[:2] for h in history(b)] == [("candidate", "active"), ("active", "rolled_back")]
    assert history(a)[-1][3] == f"rolled back from {b} by {staff}"
    with pytest.raises(InvalidInput, match="first promoted"):
        rollback("bertsumext", staff)
    gone = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "nope"))
    with pytest.raises(InvalidInput, match=r"checkpoint .* is missing"):
        promote(gone, staff)
    assert not VersionTransition.objects.filter(version=gone).exists()


def test_describe_trims_and_deduplicates_tags():
    v = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir="/x")
    describe(v, "  CNN, 6k stories ", ["cnn", " cnn ", "", "frozen-encoder"])
    v.refresh_from_db()
    assert (v.description, v.tags) == ("CNN, 6k stories", ["cnn", "frozen-encoder"])
    with pytest.raises(InvalidInput, match="at most 50"):
        describe(v, "", ["x" * 51])


def test_a_tie_at_zero_tolerance_is_not_promoted_and_says_plus_zero(settings):
    """A model that selects what the zero-label default selects ties it: the interval
    is 0 to 0, not above the floor; the floor reads +0.00, not "-0.00" (the negated
    default tolerance 0.0)."""
    settings.PROMOTION_TOLERANCE = 0.0
    tie = measured_version(
        "/t", candidate=per_document(23.0), lead3=LEAD3_DOCS, fallback=per_document(23.0)
    )
    assert apply_promotion_gate(tie) is False
    assert tie.gate_note == (
        "not promoted: +0.00 ROUGE (95% interval +0.00 to +0.00, n=32) against the "
        "Zero-label default on the same validation documents; its lower end +0.00 is not "
        "above +0.00 (minus PROMOTION_TOLERANCE), so it may be worse; the Zero-label "
        "default keeps serving"
    )
