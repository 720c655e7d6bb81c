"""Model versions: the promotion gate, manual promote and roll back, and their history.

Every decision (the gate's, a staff promote or roll back) writes a VersionTransition:
who (or the gate), when, why and the metrics compared, so nothing overwrites the
reason an earlier decision was made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.registry import KINDS
from ml.stats import paired_bootstrap_result

from .. import engines
from ..models import ModelVersion, VersionStatus, VersionTransition
from .errors import InvalidInput

logger = logging.getLogger(__name__)

GATE_METRIC = "val_rouge"  # mean of validation ROUGE-1/2/Lsum F1
ROUGE_PARTS = ("rouge1", "rouge2", "rougeLsum")
# The key of the fallback kind's scores in a run's metrics (fallback_rouge1 ...) and
# validation_scores; "fallback_kind" names the kind that was measured.
FALLBACK = "fallback"


def status_of(version: ModelVersion) -> str:
    if version.is_active:
        return VersionStatus.ACTIVE
    if version.rolled_back_at is not None:
        return VersionStatus.ROLLED_BACK
    if version.promoted_at is not None:
        return VersionStatus.RETIRED
    return VersionStatus.CANDIDATE


def _record(
    version: ModelVersion, before: str, after: str, by, reason: str, compared: dict[str, Any]
) -> VersionTransition:
    return VersionTransition.objects.create(
        version=version,
        from_status=before,
        to_status=after,
        by=by,
        reason=reason,
        compared=compared,
    )


def _activate(
    version: ModelVersion, by, reason: str, compared: dict[str, Any], gate: bool = False
) -> None:
    """Make `version` the active one of its kind; the one it replaces is retired."""
    with transaction.atomic():
        replaced = list(
            ModelVersion.objects.select_for_update()
            .filter(kind=version.kind, is_active=True)
            .exclude(pk=version.pk)
        )
        ModelVersion.objects.filter(pk__in=[v.pk for v in replaced]).update(is_active=False)
        for old in replaced:
            old.is_active = False
            _record(old, VersionStatus.ACTIVE, status_of(old), by, f"replaced by {version}", {})
        before = status_of(version)
        version.is_active = True
        version.promoted_at = timezone.now()
        version.promoted_by = by
        version.rolled_back_at = None
        fields = ["is_active", "promoted_at", "promoted_by", "rolled_back_at"]
        if gate:  # staff decisions live in the history; the note is the gate's
            version.gate_note = reason
            fields.append("gate_note")
        version.save(update_fields=fields)
        _record(version, before, VersionStatus.ACTIVE, by, reason, compared)


# --- the gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    compared: dict[str, Any] = field(default_factory=dict)


def baseline_mean(metrics: dict[str, Any], name: str = "lead3") -> float | None:
    """Mean validation ROUGE-1/2/Lsum of a baseline the run measured on its own data."""
    parts = [metrics.get(f"{name}_{part}") for part in ROUGE_PARTS]
    numbers = [float(p) for p in parts if isinstance(p, int | float)]
    return sum(numbers) / len(numbers) if len(numbers) == len(parts) else None


def gate_decision(version: ModelVersion) -> GateDecision:
    """Whether the gate promotes `version`. It is compared with what serves now (the
    active version or, with none, the fallback kind: the zero-label default) on the run's
    own validation documents, per document: with at least PROMOTION_MIN_DOCUMENTS of
    them, it is promoted only if the lower bound of the paired bootstrap's 95% interval
    of (new - serving) is above -PROMOTION_TOLERANCE."""
    metrics = version.metrics or {}
    new = metrics.get(GATE_METRIC)
    if new is None:
        return GateDecision(False, "not promoted: the run measured no validation ROUGE")
    active = (
        ModelVersion.objects.filter(kind=version.kind, is_active=True)
        .exclude(pk=version.pk)
        .first()
    )
    scores = (version.run.validation_scores if version.run_id else None) or {}
    if active is None:
        return _first_version(version, new, metrics, scores)
    refused = _active_not_measured(metrics, active, new, scores)
    if refused is not None:
        return refused
    old = metrics[f"active_{GATE_METRIC}"]
    return _measured(
        version,
        new,
        scores,
        "active",
        f"the active version {active}",
        {f"active_{GATE_METRIC}": old, "active_version": active.pk},
    )


def serving_label(kind: str) -> str:
    """A built-in kind in words for the gate's notes: "the Zero-label default"."""
    return f"the {KINDS[kind].label}" if kind in KINDS else f"the {kind} model"


def _first_version(
    version: ModelVersion, new: float, metrics: dict[str, Any], scores: dict[str, Any]
) -> GateDecision:
    """No version of its kind is active: compared with what serves meanwhile, the
    fallback kind, which the run measured on the same documents.

    A run that finished before runs measured the fallback kind has only Lead-3's
    scores: it is refused rather than compared with Lead-3, since a version that beats
    Lead-3 may still be worse than what serves; staff can promote it by hand."""
    serving = engines.fallback_kind()
    measured = scores.get("fallback_kind") or metrics.get("fallback_kind")
    name = serving_label(serving)
    compared: dict[str, Any] = {
        GATE_METRIC: new,
        "fallback_kind": serving,
        "fallback_rouge": baseline_mean(metrics, FALLBACK),
    }
    if not scores.get(FALLBACK):
        why = (
            "measured Lead-3 but not it (the run finished before runs measured what "
            "serves meanwhile); train again or promote by hand"
            if scores.get("lead3")
            else "did not measure it"
        )
        compared["lead3_rouge"] = baseline_mean(metrics)
        return GateDecision(
            False,
            f"not promoted: no version is active, so {name} serves meanwhile, and the run {why}",
            compared,
        )
    if measured not in (None, serving):
        return GateDecision(
            False,
            f"not promoted: the run measured {serving_label(str(measured))}, but {name} "
            "serves while no version is active; promote by hand if it should serve",
            compared,
        )
    return _measured(version, new, scores, FALLBACK, name, compared)


def _active_not_measured(
    metrics: dict[str, Any], active: ModelVersion, new: float, scores: dict[str, Any]
) -> GateDecision | None:
    """A refusal when the run did not measure the version active now on its documents."""
    old = metrics.get(f"active_{GATE_METRIC}")
    measured = metrics.get("active_version")
    compared = {GATE_METRIC: new, f"active_{GATE_METRIC}": old, "active_version": active.pk}
    if measured not in (None, active.pk) or scores.get("active_version") not in (None, active.pk):
        return GateDecision(
            False,
            f"not promoted: the run measured version {measured}, but {active} became "
            "active meanwhile; compare them and promote by hand",
            compared,
        )
    if old is None or not scores.get("active"):
        why = (
            f"its checkpoint {active.checkpoint_dir} is missing"
            if not Path(active.checkpoint_dir).is_dir()
            else "the run did not measure it"
        )
        return GateDecision(
            False,
            f"not promoted: the active version {active} could not be measured on this "
            f"run's validation documents ({why}); promote by hand if it should serve",
            compared,
        )
    return None


def evidence(compared: dict[str, Any]) -> str:
    """A gate comparison in words: "+1.20 ROUGE (95% interval -0.30 to +2.70, n=42)"."""
    if "n" not in compared or compared.get("difference") is None:
        return ""
    low, high = compared["ci95"]
    interval = f"95% interval {low:+.2f} to {high:+.2f}"
    return f"{compared['difference']:+.2f} ROUGE ({interval}, n={compared['n']})"


BASELINE_NAMES = {
    "lead3": "Lead-3",
    FALLBACK: "what served while no version was active",
    "active": "the version active then",
}


def compare_scores(scores: dict[str, Any]) -> dict[str, dict[str, float | int]]:
    """The new model against each baseline the run measured on the same documents
    (TrainingRun.validation_scores): n, mean difference and its 95% interval."""
    candidate = scores.get("candidate") or []
    out: dict[str, dict[str, float | int]] = {}
    for name in BASELINE_NAMES:
        baseline = scores.get(name) or []
        if candidate and len(baseline) == len(candidate):
            resamples = settings.PROMOTION_BOOTSTRAP_RESAMPLES
            out[name] = paired_bootstrap_result(candidate, baseline, resamples, 0).as_dict()
    return out


@dataclass(frozen=True)
class Measured:
    """One comparison for a page: against what, in words, and whether it is a clear
    win (interval above 0), a clear loss (below 0) or not told apart."""

    against: str
    text: str
    verdict: str  # "better" | "worse" | "unclear"


def measured_against(run: Any) -> list[Measured]:
    """What a run's model scored against Lead-3, the fallback kind (the zero-label
    default) and the version active then, with n and the paired bootstrap interval (for
    the run and version pages). Runs made before the fallback kind was measured show
    Lead-3 and the active version only."""
    compared = ((run.validation_scores or {}) if run is not None else {}).get("compared", {})
    out = []
    for name, label in BASELINE_NAMES.items():
        row = compared.get(name)
        if not row:
            continue
        text = evidence(
            {
                "difference": row["mean_difference"],
                "ci95": [row["ci95_low"], row["ci95_high"]],
                "n": row["n"],
            }
        )
        verdict = (
            "better" if row["ci95_low"] > 0 else "worse" if row["ci95_high"] < 0 else "unclear"
        )
        if name == "active":
            label = f"version {run.validation_scores.get('active_version')} (active then)"
        elif name == FALLBACK:
            kind = run.validation_scores.get("fallback_kind", "")
            label = KINDS[kind].label if kind in KINDS else label
        out.append(Measured(label, text, verdict))
    return out


def _measured(
    version: ModelVersion,
    new: float,
    scores: dict[str, Any],
    baseline: str,
    name: str,
    compared: dict[str, Any],
) -> GateDecision:
    """The decision from the per-document scores of the new model and `baseline`."""
    tolerance = settings.PROMOTION_TOLERANCE
    minimum = settings.PROMOTION_MIN_DOCUMENTS
    candidate, serving = scores.get("candidate") or [], scores.get(baseline) or []
    n = len(candidate)
    compared = {
        GATE_METRIC: new,
        **compared,
        "n": n,
        "tolerance": tolerance,
        "min_documents": minimum,
    }
    if n == 0 or len(serving) != n:
        return GateDecision(
            False,
            "not promoted: the run kept no per-document validation scores to compare",
            compared,
        )
    if n < minimum:
        return GateDecision(
            False,
            f"not promoted: only {n} validation document{'s' if n != 1 else ''} with a "
            f"reference summary; the gate needs at least {minimum} "
            "(PROMOTION_MIN_DOCUMENTS) to tell a better model from noise. Import or label "
            "more validation documents, then train again, or promote by hand",
            compared,
        )
    result = paired_bootstrap_result(
        candidate, serving, settings.PROMOTION_BOOTSTRAP_RESAMPLES, seed=0
    )
    compared.update(
        difference=result.mean_difference,
        ci95=[result.low, result.high],
        resamples=settings.PROMOTION_BOOTSTRAP_RESAMPLES,
    )
    said = f"{evidence(compared)} against {name} on the same validation documents"
    if result.low <= -tolerance:
        return GateDecision(
            False,
            f"not promoted: {said}; its lower end {result.low:+.2f} is not above "
            f"{0.0 - tolerance:+.2f} (minus PROMOTION_TOLERANCE), so it may be worse"
            + (f"; {name} keeps serving" if baseline == FALLBACK else ""),
            compared,
        )
    first = f"first {version.kind} version, " if baseline == FALLBACK else ""
    return GateDecision(True, f"promoted: {first}{said}", compared)


def apply_promotion_gate(version: ModelVersion) -> bool:
    """Promote `version` if the gate allows; otherwise keep it as a candidate with the
    reason in its gate_note. Either way the decision is in its history."""
    decision = gate_decision(version)
    if decision.promote:
        _activate(version, None, decision.reason, decision.compared, gate=True)
        return True
    with transaction.atomic():
        version.gate_note = decision.reason
        version.save(update_fields=["gate_note"])
        state = status_of(version)
        _record(version, state, state, None, decision.reason, decision.compared)
    return False


# --- staff ------------------------------------------------------------------------------


def _staff_compared(version: ModelVersion) -> dict[str, Any]:
    """What staff saw: each version's validation ROUGE (from its own run), Lead-3's and,
    when its run measured it, the fallback kind's."""
    current = ModelVersion.objects.filter(kind=version.kind, is_active=True).first()
    metrics = version.metrics or {}
    compared: dict[str, Any] = {
        GATE_METRIC: metrics.get(GATE_METRIC),
        "lead3_rouge": baseline_mean(metrics),
    }
    fallback = baseline_mean(metrics, FALLBACK)
    if fallback is not None:
        compared["fallback_rouge"] = fallback
    if current is not None and current.pk != version.pk:
        compared["replaced_version"] = current.pk
        compared[f"replaced_{GATE_METRIC}"] = (current.metrics or {}).get(GATE_METRIC)
    return compared


def promote(version: ModelVersion, by, reason: str = "") -> None:
    """Staff: make this version the active one of its kind, whatever its metrics."""
    if not Path(version.checkpoint_dir).is_dir():
        raise InvalidInput(f"the checkpoint of {version} is missing: {version.checkpoint_dir}")
    reason = reason or f"promoted by {by}"
    if version.gate_note.startswith("not promoted"):
        reason += f", over the gate ({version.gate_note})"
    _activate(version, by, reason, _staff_compared(version))


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
    if not Path(previous.checkpoint_dir).is_dir():
        raise InvalidInput(f"the checkpoint of {previous} is missing: {previous.checkpoint_dir}")
    current.rolled_back_at = timezone.now()
    current.save(update_fields=["rolled_back_at"])
    _activate(previous, by, f"rolled back from {current} by {by}", _staff_compared(previous))
    return previous


@transaction.atomic
def describe(version: ModelVersion, description: str, tags: list[str]) -> None:
    """Staff: the version's description and tags (trimmed, without duplicates)."""
    clean = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if any(len(t) > 50 for t in clean):
        raise InvalidInput("a tag is at most 50 characters", "tags")
    version.description = description.strip()
    version.tags = clean
    version.save(update_fields=["description", "tags"])
