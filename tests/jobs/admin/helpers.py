"""Rows and URLs the dashboard tests build."""

from __future__ import annotations

import http.server
import importlib

from django.urls import reverse
from django.utils import timezone

from jobs.models import (
    ErrorKind,
    JobStatus,
    ModelVersion,
    RunPrediction,
    SentenceError,
    TrainingRun,
)
from ml.text.sentences import split_sentences
from tests.factories import ARTICLE, DocumentFactory, SummaryFactory

REFERENCE = "Organisers said two thousand people lined the banks.\nThe festival ends Monday."


def succeeded_summary(document, selected=(0, 2), model="lead3"):
    spans = split_sentences(document.text)
    sentences = [
        {
            "index": i,
            "text": s.text,
            "start": s.start,
            "end": s.end,
            "score": round(1.0 / (i + 1), 6),
            "selected": i in selected,
        }
        for i, s in enumerate(spans)
    ]
    return SummaryFactory(
        document=document,
        status=JobStatus.SUCCEEDED,
        model=model,
        model_version="builtin",
        sentences=sentences,
        summary_text=" ".join(spans[i].text for i in selected),
        finished_at=timezone.now(),
    )


def make_errors(owner, count=3):
    """A finished run with misclassified sentences (as run_training stores them)."""
    run = TrainingRun.objects.create(
        kind="bertsumext",
        status=JobStatus.SUCCEEDED,
        progress_step=6,
        progress_total=6,
        metrics={"val_rouge": 30.0, "lead3_rouge1": 35.0},
    )
    document = DocumentFactory(owner=owner, split="validation", reference_summary=REFERENCE)
    spans = split_sentences(document.text)
    errors = [
        SentenceError.objects.create(
            run=run,
            document=document,
            sentence_index=i,
            text=spans[i].text,
            start=spans[i].start,
            end=spans[i].end,
            label=1 if i % 2 else 0,
            probability=[0.95, 0.05, 0.55][i % 3],
            kind=ErrorKind.FALSE_POSITIVE if i % 2 == 0 else ErrorKind.FALSE_NEGATIVE,
        )
        for i in range(count)
    ]
    return run, document, errors


def make_version(tmp_path, kind="bertsumext", active=False, name="v", **metrics):
    checkpoint = tmp_path / name
    checkpoint.mkdir()
    return ModelVersion.objects.create(
        kind=kind,
        checkpoint_dir=str(checkpoint),
        metrics={"val_rouge1": 40.0, "val_rouge2": 18.0, "val_rougeLsum": 36.0, **metrics},
        is_active=active,
        promoted_at=timezone.now() if active else None,
    )


def dashboard_urls(run, version, error, document, summary):
    return [
        reverse("admin:index"),
        reverse("admin:jobs_document_changelist"),
        reverse("admin:jobs_document_change", args=[document.pk]),
        reverse("admin:jobs_summary_changelist"),
        reverse("admin:jobs_summary_change", args=[summary.pk]),
        reverse("admin:jobs_trainingrun_changelist"),
        reverse("admin:jobs_trainingrun_change", args=[run.pk]),
        reverse("admin:jobs_trainingrun_launch"),
        reverse("admin:jobs_trainingrun_tensorboard"),
        reverse("admin:jobs_trainingrun_tensorboard", args=["data/runs"]),
        reverse("admin:jobs_modelversion_changelist"),
        reverse("admin:jobs_modelversion_change", args=[version.pk]),
        reverse("admin:jobs_modelversion_promote", args=[version.pk]),
        reverse("admin:jobs_modelversion_rollback", args=["bertsumext"]),
        reverse("admin:jobs_sentenceerror_changelist"),
        reverse("admin:jobs_sentenceerror_change", args=[error.pk]),
        reverse("admin:jobs_labeloverride_changelist"),
        reverse("admin:jobs_reviewevent_changelist"),
        reverse("admin:jobs_sentenceerror_review", args=[error.run_id]),
        reverse("admin:django_celery_beat_periodictask_changelist"),
    ]


class FakeTensorBoard(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self, body: bytes):
        FakeTensorBoard.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere/")
            self.end_headers()
            return
        payload = b"x" * 200_000
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "tb=1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def log_message(self, *args):
        pass


def ensure_retrain_schedule():
    """The schedule migration 0003 creates (a transactional test may have flushed it)."""
    from django.apps import apps

    migration = importlib.import_module("jobs.migrations.0003_retrain_schedule")
    migration.create_schedule(apps, None)


SCORES = [0.9, 0.5, 0.01, 0.005, 0.002]  # sentences 0-2 selected (top 3), 3-4 not


def make_review_run(owner, documents=10):
    """A finished run whose every validation sentence is misclassified, with its
    predictions: in each 5-sentence document the top 3 are selected against a gold
    label of 0 (false positives) and the last 2 left out against a 1 (false negatives)."""
    run = TrainingRun.objects.create(kind="bertsumext", status=JobStatus.SUCCEEDED)
    errors = []
    for d in range(documents):
        document = DocumentFactory(  # distinct texts: copies of one text share labels
            owner=owner,
            split="validation",
            title=f"Review doc {d}",
            reference_summary=REFERENCE,
            text=ARTICLE.replace("paper boats", f"paper boats ({d})"),
        )
        spans = split_sentences(document.text)
        assert len(spans) == len(SCORES)
        RunPrediction.objects.create(
            run=run,
            document=document,
            sentences=[
                {
                    "index": i,
                    "start": s.start,
                    "end": s.end,
                    "score": SCORES[i],
                    "selected": i < 3,
                    "label": int(i >= 3),
                }
                for i, s in enumerate(spans)
            ],
        )
        errors += [
            SentenceError.objects.create(
                run=run,
                document=document,
                sentence_index=i,
                text=s.text,
                start=s.start,
                end=s.end,
                label=int(i >= 3),
                probability=SCORES[i],
                kind=ErrorKind.FALSE_POSITIVE if i < 3 else ErrorKind.FALSE_NEGATIVE,
            )
            for i, s in enumerate(spans)
        ]
    return run, errors
