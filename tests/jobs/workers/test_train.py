"""The training worker: a run end to end in process, cancel, review rows, MatchSum."""

from pathlib import Path

import pytest
from django.utils import timezone

from jobs import engines
from jobs.models import (
    JobStatus,
    ModelVersion,
    RunPrediction,
    SentenceError,
    TrainingRun,
)
from jobs.services.documents import delete_document
from jobs.services.errors import InvalidInput
from jobs.services.manifests import learned_from
from jobs.services.reviews import set_label
from jobs.services.training import start_training
from jobs.services.versions import promote
from jobs.workers import summarize as summarize_worker
from jobs.workers import train as train_worker
from jobs.workers.train import sentence_loss
from jobs.workers.training_checkpoints import measure
from jobs.workers.training_data import build_training_data
from tests.factories import DocumentFactory, SummaryFactory
from tests.jobs.training_fixtures import make_corpus, tiny_match_params, tiny_params

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


# transactional_db: the heartbeat thread has its own connection and must see the rows.
@pytest.mark.django_db(transaction=True)
def test_run_training_end_to_end_in_process(staff, settings):
    settings.PROMOTION_TOLERANCE = 100.0  # the tiny model only has to run, not beat anything
    settings.TRAINING_ERRORS_PER_RUN = 4
    docs = make_corpus(staff, val=30)  # PROMOTION_MIN_DOCUMENTS (30) validation documents
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert run.status == JobStatus.QUEUED and run.enqueued_at is not None

    train_worker.run(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert (run.progress_step, run.progress_total) == (6, 6)
    assert run.attempts == 1 and run.device == "cpu"
    assert len(run.data_sha256) == 64
    assert run.data_summary["train_documents"] == 6
    assert run.data_summary["validation_documents"] == 30
    train_ids = sorted(d.pk for d in docs if d.split == "train")
    val_ids = {d.pk for d in docs if d.split == "validation"}
    assert run.manifest["train_documents"] == train_ids
    assert run.manifest["validation_documents"] == sorted(val_ids)
    assert run.manifest["train"]["reference_summaries"] == 6
    assert learned_from(run.manifest) == (
        "learned from 6 reference summaries, 0 staff-labelled documents, 0 corrections; "
        "validated on 30 documents"
    )
    assert run.resolved_config["max_steps"] == 6
    assert run.resolved_config["score_train_documents"] == settings.TRAINING_SCORED_TRAIN_DOCUMENTS
    # The gate's evidence: per-document scores of the model, of what serves while no
    # version is active (the zero-label default, as engines loads it) and of Lead-3 (for
    # the pages) on the same documents.
    scores = run.validation_scores
    assert scores["documents"] == sorted(val_ids)
    assert len(scores["candidate"]) == len(scores["lead3"]) == len(scores["fallback"]) == 30
    assert sum(scores["candidate"]) / 30 == pytest.approx(run.metrics["val_rouge"])
    assert scores["fallback_kind"] == run.metrics["fallback_kind"] == "default"
    fallback = measure(engines.fallback_system(), build_training_data(run).val, 3)
    assert scores["fallback"] == pytest.approx(fallback.per_document)
    assert run.metrics["fallback_rouge1"] == pytest.approx(fallback.means["val_rouge1"])
    assert scores["fallback"] != scores["lead3"]  # a different system, measured
    assert set(scores["compared"]) == {"lead3", "fallback"}
    for key in ("val_rouge", "val_rouge1", "lead3_rouge1", "textrank_rouge1", "fallback_rouge1"):
        assert key in run.metrics
    assert any(Path(run.tensorboard_logdir).iterdir())  # event files were written

    version = ModelVersion.objects.get(run=run)
    assert version.is_active  # first version: compared with what serves, within the tolerance
    assert version.gate_note.startswith("promoted: first bertsumext version, ")
    assert "against the Zero-label default on the same validation" in version.gate_note
    assert "95% interval" in version.gate_note and "n=30)" in version.gate_note
    compared = version.transitions.get().compared
    assert compared["n"] == 30 and compared["ci95"][0] <= compared["difference"]
    assert len(version.checkpoint_sha256) == 64
    # Every FP/FN row points at a document of its split and a real sentence: validation
    # documents, and the training documents the best model still gets wrong (highest
    # loss first, at most TRAINING_ERRORS_PER_RUN).
    errors = list(SentenceError.objects.filter(run=run))
    assert {e.split for e in errors} == {"train", "validation"}, (
        "an undertrained tiny model misclassifies sentences of both splits"
    )
    for e in errors:
        assert e.document_id in (val_ids if e.split == "validation" else set(train_ids))
        assert e.document.text[e.start : e.end] == e.text
        assert (e.kind == "fp") == (e.label == 0)
    on_training = [e for e in errors if e.split == "train"]
    assert len(on_training) == 4
    losses = [sentence_loss(e.label, e.probability) for e in on_training]
    assert min(losses) > 0
    # The best model's score and selection of every validation sentence, for review.
    predictions = {p.document_id: p.sentences for p in RunPrediction.objects.filter(run=run)}
    assert set(predictions) == val_ids
    for e in errors:
        if e.split == "train":
            continue
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
def test_a_first_version_below_the_fallback_is_kept_and_staff_can_promote_it(staff, settings):
    """A negative tolerance makes "beats the zero-label default" unreachable for a 6-step
    tiny model: the gate keeps the version, shows the difference, its interval and n, and
    serving stays on the zero-label default."""
    settings.PROMOTION_TOLERANCE = -100.0
    docs = make_corpus(staff, val=30)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(run.pk)
    run.refresh_from_db()
    version = ModelVersion.objects.get(run=run)
    assert not version.is_active
    serving = sum(run.metrics[f"fallback_{k}"] for k in ("rouge1", "rouge2", "rougeLsum")) / 3
    transition = version.transitions.get()
    compared = transition.compared
    assert transition.actor == "gate" and compared["fallback_rouge"] == pytest.approx(serving)
    assert compared["n"] == 30
    assert compared["difference"] == pytest.approx(run.metrics["val_rouge"] - serving)
    low, high = compared["ci95"]
    assert version.gate_note == (
        f"not promoted: {compared['difference']:+.2f} ROUGE (95% interval {low:+.2f} to "
        f"{high:+.2f}, n=30) against the Zero-label default on the same validation "
        f"documents; its lower end {low:+.2f} is not above +100.00 (minus "
        "PROMOTION_TOLERANCE), so it may be worse; the Zero-label default keeps serving"
    )

    summary = SummaryFactory(document=docs[0])
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.model == "default" and "zero-label default" in summary.notes

    promote(version, staff)
    version.refresh_from_db()
    assert version.is_active
    assert "over the gate" in version.transitions.first().reason


@pytest.mark.django_db(transaction=True)
def test_too_few_validation_documents_are_not_enough_to_promote(staff, settings):
    """Three validation documents (make demo's size): whatever the model scores, the gate
    says it cannot tell it from noise and what to do."""
    settings.PROMOTION_TOLERANCE = 100.0
    make_corpus(staff, val=3)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(run.pk)
    version = ModelVersion.objects.get(run=run)
    assert not version.is_active
    assert version.gate_note.startswith(
        "not promoted: only 3 validation documents with a reference summary; the gate "
        "needs at least 30 (PROMOTION_MIN_DOCUMENTS)"
    )
    assert "Import or label more validation documents" in version.gate_note
    assert version.transitions.get().compared["n"] == 3


@pytest.mark.django_db(transaction=True)
def test_matchsum_run_on_top_of_the_active_bertsumext(staff, settings):
    # What is measured here is the pipeline, not a 6-step tiny model's quality: let the
    # gate promote whatever it scores against the zero-label default.
    settings.PROMOTION_TOLERANCE = 100.0
    docs = make_corpus(staff, val=30)
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


def test_training_errors_keep_the_highest_loss_first(staff, settings):
    """A confident disagreement with the trained-on label (likely label noise) is kept
    before a near miss; sentences the model never saw are left out."""
    from jobs.workers.train import store_training_errors
    from ml.training.results import MisclassifiedSentence, ValidationOutput

    settings.TRAINING_ERRORS_PER_RUN = 2
    [doc] = make_corpus(staff, train=1, val=0)
    run = TrainingRun.objects.create(kind="bertsumext")

    def error(index, label, probability):
        kind = "false_negative" if label else "false_positive"
        return MisclassifiedSentence(str(doc.pk), index, "x", 0, 1, label, probability, kind)

    training = ValidationOutput(
        documents=[],
        false_positives=[error(0, 0, 0.55), error(1, 0, 0.99)],
        false_negatives=[error(2, 1, 0.02), error(3, 1, None)],
        metrics={},
    )
    store_training_errors(run, training)
    kept = SentenceError.objects.filter(run=run).order_by("sentence_index")
    assert [(e.sentence_index, e.split) for e in kept] == [(1, "train"), (2, "train")]
