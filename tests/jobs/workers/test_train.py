"""The training worker: a run end to end in process, cancel, review rows, MatchSum."""

from pathlib import Path

import pytest
from django.utils import timezone

from jobs.models import (
    JobStatus,
    ModelVersion,
    RunPrediction,
    SentenceError,
    TrainingRun,
)
from jobs.services.documents import delete_document
from jobs.services.errors import InvalidInput
from jobs.services.reviews import set_label
from jobs.services.training import start_training
from jobs.services.versions import promote
from jobs.workers import summarize as summarize_worker
from jobs.workers import train as train_worker
from jobs.workers.training_data import build_training_data
from tests.factories import DocumentFactory, SummaryFactory
from tests.jobs.training_fixtures import make_corpus, tiny_match_params, tiny_params

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


# transactional_db: the heartbeat thread has its own connection and must see the rows.
@pytest.mark.django_db(transaction=True)
def test_run_training_end_to_end_in_process(staff, settings):
    settings.PROMOTION_TOLERANCE = 100.0  # the tiny model only has to run, not beat Lead-3
    docs = make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert run.status == JobStatus.QUEUED and run.enqueued_at is not None

    train_worker.run(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert (run.progress_step, run.progress_total) == (6, 6)
    assert run.attempts == 1 and run.device == "cpu"
    assert len(run.data_sha256) == 64
    assert run.data_summary["train_documents"] == 6
    assert run.data_summary["validation_documents"] == 3
    for key in ("val_rouge", "val_rouge1", "lead3_rouge1", "textrank_rouge1"):
        assert key in run.metrics
    assert any(Path(run.tensorboard_logdir).iterdir())  # event files were written

    version = ModelVersion.objects.get(run=run)
    assert version.is_active  # first version: compared with Lead-3, within the tolerance
    assert "first bertsumext version" in version.gate_note and "vs Lead-3" in version.gate_note
    assert len(version.checkpoint_sha256) == 64
    # Every FP/FN row points at a validation document and a real sentence.
    errors = list(SentenceError.objects.filter(run=run))
    val_ids = {d.pk for d in docs if d.split == "validation"}
    assert errors, "an undertrained tiny model misclassifies some validation sentences"
    for e in errors:
        assert e.document_id in val_ids
        assert e.document.text[e.start : e.end] == e.text
        assert (e.kind == "fp") == (e.label == 0)
    # The best model's score and selection of every validation sentence, for review.
    predictions = {p.document_id: p.sentences for p in RunPrediction.objects.filter(run=run)}
    assert set(predictions) == val_ids
    for e in errors:
        row = predictions[e.document_id][e.sentence_index]
        assert (row["start"], row["end"], row["label"]) == (e.start, e.end, e.label)
        assert row["selected"] == (e.kind == "fp")
        assert row["score"] == (None if e.probability is None else round(e.probability, 6))

    # The next default summary is served by the new version.
    summary = SummaryFactory(document=docs[0])
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED, summary.error
    assert (summary.model, summary.version_id) == ("bertsumext", version.pk)
    assert summary.notes == ""

    # A redelivered message for the finished run does nothing.
    train_worker.run(run.pk)
    assert ModelVersion.objects.filter(run__isnull=False).count() == 1


def test_review_rows_skip_documents_deleted_while_the_run_trained(staff):
    from jobs.workers.train import store_sentence_errors
    from ml.training.results import MisclassifiedSentence, ValidationOutput

    kept, deleted = make_corpus(staff, train=1, val=1)[:2]
    run = TrainingRun.objects.create(kind="bertsumext")

    def error(doc, kind):
        return MisclassifiedSentence(
            str(doc.pk), 0, "x", 0, 1, int(kind == "false_negative"), 0.5, kind
        )

    validation = ValidationOutput(
        documents=[],
        false_positives=[error(kept, "false_positive"), error(deleted, "false_positive")],
        false_negatives=[error(deleted, "false_negative")],
        metrics={},
    )
    delete_document(deleted)
    store_sentence_errors(run, validation)
    assert list(SentenceError.objects.values_list("document_id", "kind")) == [(kept.pk, "fp")]


def test_documents_with_only_overrides_are_trained_on(staff):
    make_corpus(staff, train=0, val=1)
    unlabelled = DocumentFactory(owner=staff, split="train", reference_summary="")
    with pytest.raises(InvalidInput, match="no documents in split 'train'"):
        start_training("bertsumext", triggered_by=staff)
    set_label(unlabelled, 0, 1, staff)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert [ex.id for ex in build_training_data(run).train] == [str(unlabelled.pk)]


@pytest.mark.django_db(transaction=True)
def test_cancel_request_stops_a_running_training(staff, monkeypatch, settings):
    settings.TRAINING_PROGRESS_SECONDS = 0  # write progress (and read the flag) every step
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(max_steps=50), triggered_by=staff)
    import ml.models.bertsumext.train

    real_train = ml.models.bertsumext.train.train

    def train_and_cancel(*args, on_progress, **kwargs):
        def progress(step, total, loss):
            if step == 2:
                TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
            on_progress(step, total, loss)

        return real_train(*args, on_progress=progress, **kwargs)

    monkeypatch.setattr(ml.models.bertsumext.train, "train", train_and_cancel)
    train_worker.run(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert run.progress_step < 50
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_first_version_below_lead3_is_kept_and_staff_can_promote_it(staff, settings):
    """A negative tolerance makes "beats Lead-3" unreachable for a 6-step tiny model: the
    gate keeps the version, names the gap, and serving stays on Lead-3."""
    settings.PROMOTION_TOLERANCE = -100.0
    docs = make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(run.pk)
    run.refresh_from_db()
    version = ModelVersion.objects.get(run=run)
    assert not version.is_active
    lead = sum(run.metrics[f"lead3_{k}"] for k in ("rouge1", "rouge2", "rougeLsum")) / 3
    gap = lead - run.metrics["val_rouge"]
    assert version.gate_note.startswith(f"not promoted: below Lead-3 by {gap:.2f}")
    transition = version.transitions.get()
    assert transition.actor == "gate" and transition.compared["lead3_rouge"] == pytest.approx(lead)

    summary = SummaryFactory(document=docs[0])
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.model == "default" and "zero-label default" in summary.notes

    promote(version, staff)
    version.refresh_from_db()
    assert version.is_active
    assert "over the gate" in version.transitions.first().reason


@pytest.mark.django_db(transaction=True)
def test_matchsum_run_on_top_of_the_active_bertsumext(staff, settings):
    # What is measured here is the pipeline, not a 6-step tiny model's quality: let the
    # gate promote whatever it scores against Lead-3.
    settings.PROMOTION_TOLERANCE = 100.0
    docs = make_corpus(staff)
    ext_run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(ext_run.pk)
    extractor = ModelVersion.objects.get(run=ext_run, is_active=True)

    run = start_training("matchsum", params=tiny_match_params(), triggered_by=staff)
    train_worker.run(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.data_summary["extractor_version"] == extractor.pk
    assert "val_rouge" in run.metrics and "lead3_rouge1" in run.metrics
    version = ModelVersion.objects.get(run=run)
    assert version.kind == "matchsum" and version.is_active
    assert (Path(version.checkpoint_dir) / "extractor").is_dir()  # self-contained
    assert extractor.is_active  # one active version per kind

    summary = SummaryFactory(document=docs[0], requested_model="matchsum", max_sentences=2)
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED, summary.error
    assert (summary.model, summary.version_id) == ("matchsum", version.pk)
    selected = [s["index"] for s in summary.sentences if s["selected"]]
    assert 1 <= len(selected) <= 2 and selected == sorted(selected)


def test_a_run_leased_on_another_node_is_left_to_that_worker_or_the_reaper(worker_node):
    """The redelivered task cannot judge the owner: it drops the message (no retry loop for
    a run that may train for hours); the reaper resends the run if that worker died."""
    run = TrainingRun.objects.create(
        kind="bertsumext",
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
        lease_owner="training@elsewhere abc 1 2",
    )
    train_worker.run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.lease_owner) == (
        JobStatus.RUNNING,
        1,
        "training@elsewhere abc 1 2",
    )
