"""What a training run reports, for every model: :class:`TrainResult`, the validation
report (per sentence: label, score, selected; the false positives / negatives), the
data report (what the model was not given), and the helpers that build them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.training.loop import LoopOutcome


@dataclass
class SentencePrediction:
    index: int
    text: str
    start: int
    end: int
    label: int | None
    probability: float | None  # None: the model did not see it (see cut_reason)
    selected: bool
    cut_reason: str | None = None


@dataclass
class DocumentPrediction:
    id: str
    sentences: list[SentencePrediction]


@dataclass
class MisclassifiedSentence:
    """A selected sentence the oracle/staff did not label (false positive), or the reverse."""

    document_id: str
    index: int
    text: str
    start: int
    end: int
    label: int
    probability: float | None
    kind: str  # "false_positive" | "false_negative"


@dataclass
class ValidationOutput:
    documents: list[DocumentPrediction]
    false_positives: list[MisclassifiedSentence]
    false_negatives: list[MisclassifiedSentence]
    metrics: dict[str, float]
    # document id -> mean of its ROUGE-1/2/Lsum F1 x 100 (documents with a reference):
    # what a paired comparison with another system on the same documents needs.
    document_rouge: dict[str, float] = field(default_factory=dict)


@dataclass
class DataReport:
    """What the data pipeline did not give the model, so nothing is lost silently."""

    documents: int = 0
    used: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> document ids
    sentences: int = 0
    sentences_cut: dict[str, int] = field(default_factory=dict)  # reason -> count
    positive_labels: int = 0
    positive_labels_cut: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str, document_id: str) -> None:
        self.skipped.setdefault(reason, []).append(document_id)

    def cut(self, reason: str, label: int | None) -> None:
        """One sentence the model does not see (``label``: its label, if any)."""
        self.sentences_cut[reason] = self.sentences_cut.get(reason, 0) + 1
        if label:
            self.positive_labels_cut[reason] = self.positive_labels_cut.get(reason, 0) + 1


@dataclass
class TrainResult:
    best_dir: Path | None  # the model to serve (None only when cancelled before validating)
    last_checkpoint: Path | None
    metrics: dict[str, float]  # best model's validation metrics + baselines + throughput
    validation: ValidationOutput | None  # of the best model
    history: list[dict[str, float]]  # one entry per validation
    data: DataReport
    stopped: str  # "completed" | "time_budget" | "cancelled" | "paused" (to continue)
    steps: int
    # The best model scored on (the first ``score_train_documents`` of) its own training
    # documents: misclassified training sentences are likely label noise. None: not asked.
    training: ValidationOutput | None = None


def train_result(
    outcome: LoopOutcome, metrics: dict[str, float], report: DataReport, out: Path
) -> TrainResult:
    best_dir = out / "best"
    return TrainResult(
        best_dir=best_dir if best_dir.is_dir() else None,
        last_checkpoint=outcome.last_checkpoint,
        metrics=metrics,
        validation=outcome.best_validation,
        history=outcome.history,
        data=report,
        stopped=outcome.stopped,
        steps=outcome.steps,
    )


class ValidationReport:
    """Collects a validation's documents, FP/FN sentences and ROUGE, one document at a time."""

    def __init__(self) -> None:
        self.documents: list[DocumentPrediction] = []
        self.false_positives: list[MisclassifiedSentence] = []
        self.false_negatives: list[MisclassifiedSentence] = []
        self.rouge: list[dict[str, float]] = []
        self.document_rouge: dict[str, float] = {}

    def add(
        self,
        doc_id: str,
        text: str,
        spans: Sequence[tuple[int, int]],
        labels: Sequence[int] | None,
        scores: Sequence[float | None],
        chosen: set[int],
        cut_reason: Callable[[int], str | None],
        reference: str = "",
    ) -> None:
        """One document: its sentences' label, score, selection and cut reason."""
        from ml.text.rouge import score_summary

        sents = [text[s:e] for s, e in spans]
        if reference:
            rouge = score_summary([sents[i] for i in sorted(chosen)], reference)
            self.rouge.append(rouge)
            self.document_rouge[doc_id] = sum(rouge.values()) / len(rouge)
        preds = []
        for i, (s, e) in enumerate(spans):
            label = None if labels is None else labels[i]
            selected = i in chosen
            preds.append(
                SentencePrediction(i, sents[i], s, e, label, scores[i], selected, cut_reason(i))
            )
            if label is not None and selected != bool(label):
                kind = "false_positive" if selected else "false_negative"
                item = MisclassifiedSentence(doc_id, i, sents[i], s, e, label, scores[i], kind)
                (self.false_positives if selected else self.false_negatives).append(item)
        self.documents.append(DocumentPrediction(doc_id, preds))

    def output(self, metrics: dict[str, float]) -> ValidationOutput:
        """The report with ``metrics`` plus the ROUGE means (val_rouge1/2/Lsum, val_rouge)."""
        from ml.text.rouge import mean_scores

        metrics = dict(metrics)
        if self.rouge:
            mean = mean_scores(self.rouge)
            metrics.update(
                val_rouge1=mean.rouge1, val_rouge2=mean.rouge2, val_rougeLsum=mean.rougeLsum
            )
            metrics["val_rouge"] = (mean.rouge1 + mean.rouge2 + mean.rougeLsum) / 3
        return ValidationOutput(
            self.documents,
            self.false_positives,
            self.false_negatives,
            metrics,
            dict(self.document_rouge),
        )


def baseline_metrics(examples: Sequence[Any], max_sentences: int) -> dict[str, float]:
    """Lead-3 and TextRank ROUGE on the same validation documents."""
    from ml.evaluate import evaluate
    from ml.text.baselines import Lead, TextRank

    out: dict[str, float] = {}
    with_ref = [ex for ex in examples if ex.reference]
    if not with_ref:
        return out
    for name, system in (("lead3", Lead()), ("textrank", TextRank())):
        scores = evaluate(system, with_ref, max_sentences=max_sentences)
        out.update(
            {
                f"{name}_rouge1": scores.rouge1,
                f"{name}_rouge2": scores.rouge2,
                f"{name}_rougeLsum": scores.rougeLsum,
            }
        )
    return out


def log_misclassified(writer: Any, out: ValidationOutput, step: int, limit: int = 50) -> None:
    """TensorBoard text tables of the false positive / negative sentences."""
    for tag, items in (
        ("validation/false_positives", out.false_positives),
        ("validation/false_negatives", out.false_negatives),
    ):
        rows = ["| document | # | probability | sentence |", "|---|---|---|---|"]
        for m in sorted(items, key=lambda m: -(m.probability or 0.0))[:limit]:
            prob = "not scored" if m.probability is None else f"{m.probability:.3f}"
            text = m.text.replace("|", "\\|").replace("\n", " ")
            rows.append(f"| {m.document_id} | {m.index} | {prob} | {text} |")
        rows.append(f"\n{len(items)} in all")
        writer.add_text(tag, "\n".join(rows), step)
