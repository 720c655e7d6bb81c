"""Training runs in the service: start, run, gate, corrections, cancel, schedule."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import (
    JobStatus,
    LabelOverride,
    ModelVersion,
    ReviewStatus,
    SentenceError,
    TrainingRun,
    Trigger,
)
from tests.factories import DocumentFactory, SummaryFactory
from tests.jobs.training_fixtures import make_corpus, tiny_match_params, tiny_params

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def training_dirs(settings, tmp_path):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    settings.TRAINING_DEVICE = "cpu"


def test_start_training_refuses_without_data(staff):
    with pytest.raises(services.InvalidInput, match="no documents in split 'train'"):
        services.start_training("bertsumext", triggered_by=staff)
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(
    ("kind", "params", "needle"),
    [
        ("bertsumext", {"batch_size": 0}, "invalid training params"),
        ("bertsumext", {"no_such_setting": 1}, "invalid training params"),
        ("bertsumext", {"probe_epochs": -1}, "probe_epochs must be >= 0"),
        ("bertsumext", [1], "params must be a JSON object"),
        ("matchsum", {}, "train and promote a bertsumext version first"),
        ("gpt", {}, "unknown kind"),
    ],
)
def test_start_training_bad_params(staff, kind, params, needle):
    make_corpus(staff)
    with pytest.raises(services.InvalidInput, match=needle):
        services.start_training(kind, params=params, triggered_by=staff)
    assert not TrainingRun.objects.exists()


def test_training_settings_layer_recipe_deployment_defaults_and_params(settings):
    from jobs.services.training import training_config

    # The shipped recipe (the ml config defaults): BertSumExt trains as measured best;
    # MatchSum gets none of BertSumExt's settings.
    shipped = training_config("bertsumext", {})
    assert shipped.model.sentence_pooling == "mean" and shipped.train_windows == "all"
    assert shipped.head_lr == 2e-4 and shipped.model.attention_dropout == 0.0
    assert not hasattr(training_config("matchsum", {}), "head_lr")
    # With no deployment override the service trains what `python -m ml train` trains.
    from ml.registry import resolve_train_config

    settings.TRAINING_DEFAULTS = {}
    for kind in ("bertsumext", "matchsum"):
        assert training_config(kind, {}) == resolve_train_config(kind, {}, {})

    settings.TRAINING_DEFAULTS = {"model": {"attention_dropout": 0.1}, "batch_size": 16}
    config = training_config("bertsumext", {"model": {"max_pos": 128}, "lr": 1e-4})
    assert (config.model.sentence_pooling, config.model.max_pos) == ("mean", 128)
    assert config.model.attention_dropout == 0.1
    assert (config.batch_size, config.lr) == (16, 1e-4)  # deployment over recipe, params last
    assert training_config("matchsum", {}).batch_size == 16  # the override applies to every kind


def test_one_active_run_per_kind(staff):
    make_corpus(staff)
    services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    with pytest.raises(services.InvalidInput, match="already queued or running"):
        services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)


# transactional_db: the heartbeat thread has its own connection and must see the rows.
@pytest.mark.django_db(transaction=True)
def test_run_training_end_to_end_in_process(staff):
    docs = make_corpus(staff)
    run = services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert run.status == JobStatus.QUEUED and run.enqueued_at is not None

    services.run_training(run.pk)
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
    assert version.is_active  # first version: nothing to regress from
    assert "first bertsumext version" in version.gate_note
    assert len(version.checkpoint_sha256) == 64
    # Every FP/FN row points at a validation document and a real sentence.
    errors = list(SentenceError.objects.filter(run=run))
    val_ids = {d.pk for d in docs if d.split == "validation"}
    assert errors, "an undertrained tiny model misclassifies some validation sentences"
    for e in errors:
        assert e.document_id in val_ids
        assert e.document.text[e.start : e.end] == e.text
        assert (e.kind == "fp") == (e.label == 0)

    # The next default summary is served by the new version.
    summary = SummaryFactory(document=docs[0])
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED, summary.error
    assert (summary.model, summary.version_id) == ("bertsumext", version.pk)
    assert summary.notes == ""

    # A redelivered message for the finished run does nothing.
    services.run_training(run.pk)
    assert ModelVersion.objects.filter(run__isnull=False).count() == 1


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
    assert services.apply_promotion_gate(worse) is False
    assert "below the active version's 21.00" in worse.gate_note
    within = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir="/z",
        metrics={"val_rouge": 20.6, "active_val_rouge": 21.0},
    )
    assert services.apply_promotion_gate(within) is True
    active.refresh_from_db()
    assert not active.is_active and within.is_active


def test_promote_and_rollback(staff, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "a"))
    b = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "b"))
    services.promote(a, staff)
    services.promote(b, staff)
    assert list(ModelVersion.objects.filter(is_active=True)) == [b]
    assert services.rollback("bertsumext", staff) == a
    a.refresh_from_db()
    assert a.is_active and a.promoted_by == staff
    with pytest.raises(services.InvalidInput, match="first promoted"):
        services.rollback("bertsumext", staff)
    gone = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(tmp_path / "nope"))
    with pytest.raises(services.InvalidInput, match=r"checkpoint .* is missing"):
        services.promote(gone, staff)


def test_review_rows_skip_documents_deleted_while_the_run_trained(staff):
    from jobs.services.training import _store_sentence_errors
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
    services.delete_document(deleted)
    _store_sentence_errors(run, validation)
    assert list(SentenceError.objects.values_list("document_id", "kind")) == [(kept.pk, "fp")]


def test_flip_and_confirm_change_the_next_runs_labels(staff):
    docs = make_corpus(staff, train=2, val=1)
    run = TrainingRun.objects.create(kind="bertsumext")
    error = SentenceError.objects.create(
        run=run,
        document=docs[0],
        sentence_index=4,
        text="x",
        start=0,
        end=1,
        label=0,
        probability=0.9,
        kind="fp",
    )
    services.flip_label(error, staff)
    error.refresh_from_db()
    assert error.review_status == ReviewStatus.FLIPPED
    data = services.build_training_data(TrainingRun(kind="bertsumext"))
    labels = {ex.id: ex.labels for ex in data.train}
    assert labels[str(docs[0].pk)] == {4: 1}
    assert labels[str(docs[1].pk)] is None
    before = data.sha256

    services.confirm_label(error, staff)
    assert not LabelOverride.objects.exists()
    after = services.build_training_data(TrainingRun(kind="bertsumext")).sha256
    assert after != before  # the data hash follows the labels


def test_set_label_checks_the_sentence_index(staff):
    doc = DocumentFactory(owner=staff)
    with pytest.raises(services.InvalidInput, match="sentence_index must be from 0 to 4"):
        services.set_label(doc, 9, 1, staff)
    with pytest.raises(services.InvalidInput, match="label must be 0"):
        services.set_label(doc, 1, 2, staff)


def test_documents_with_only_overrides_are_trained_on(staff):
    make_corpus(staff, train=0, val=1)
    unlabelled = DocumentFactory(owner=staff, split="train", reference_summary="")
    with pytest.raises(services.InvalidInput, match="no documents in split 'train'"):
        services.start_training("bertsumext", triggered_by=staff)
    services.set_label(unlabelled, 0, 1, staff)
    run = services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert [ex.id for ex in services.build_training_data(run).train] == [str(unlabelled.pk)]


def test_cancel_queued_and_running(staff):
    make_corpus(staff)
    run = services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert services.cancel_training(run) is True
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert services.cancel_training(run) is False
    services.run_training(run.pk)  # a late message for a cancelled run does nothing
    run.refresh_from_db()
    assert run.attempts == 0

    running = services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    TrainingRun.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING)
    running.refresh_from_db()
    assert services.cancel_training(running) is True
    running.refresh_from_db()
    assert running.status == JobStatus.RUNNING and running.cancel_requested


@pytest.mark.django_db(transaction=True)
def test_cancel_request_stops_a_running_training(staff, monkeypatch, settings):
    settings.TRAINING_PROGRESS_SECONDS = 0  # write progress (and read the flag) every step
    make_corpus(staff)
    run = services.start_training(
        "bertsumext", params=tiny_params(max_steps=50), triggered_by=staff
    )
    import ml.models.bertsumext.train

    real_train = ml.models.bertsumext.train.train

    def train_and_cancel(*args, on_progress, **kwargs):
        def progress(step, total, loss):
            if step == 2:
                TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
            on_progress(step, total, loss)

        return real_train(*args, on_progress=progress, **kwargs)

    monkeypatch.setattr(ml.models.bertsumext.train, "train", train_and_cancel)
    services.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert run.progress_step < 50
    assert not ModelVersion.objects.exists()


def test_scheduled_retrain_only_with_new_data_or_corrections(staff, settings):
    """Calls the task beat runs (`jobs.retrain_if_new_data`), as beat would."""
    from jobs.tasks import retrain_if_new_data

    def scheduled_runs():
        return list(TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).order_by("pk"))

    settings.SCHEDULED_TRAINING_PARAMS = tiny_params()
    retrain_if_new_data("bertsumext")
    assert scheduled_runs() == []  # no data at all
    docs = make_corpus(staff)
    retrain_if_new_data("bertsumext")
    (first,) = scheduled_runs()
    retrain_if_new_data("bertsumext")
    assert scheduled_runs() == [first]  # one is running
    TrainingRun.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    retrain_if_new_data("bertsumext")
    assert scheduled_runs() == [first]  # nothing new since
    TrainingRun.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    services.set_label(docs[0], 0, 0, staff)  # a correction
    retrain_if_new_data("bertsumext")
    assert len(scheduled_runs()) == 2


def test_reaper_requeues_a_training_run_whose_worker_died(staff, settings):
    make_corpus(staff)
    run = services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert services.reap_stale_jobs().requeued == 1
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_matchsum_run_on_top_of_the_active_bertsumext(staff):
    docs = make_corpus(staff)
    ext_run = services.start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    services.run_training(ext_run.pk)
    extractor = ModelVersion.objects.get(run=ext_run, is_active=True)

    run = services.start_training("matchsum", params=tiny_match_params(), triggered_by=staff)
    services.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.data_summary["extractor_version"] == extractor.pk
    assert "val_rouge" in run.metrics and "lead3_rouge1" in run.metrics
    version = ModelVersion.objects.get(run=run)
    assert version.kind == "matchsum" and version.is_active
    assert (Path(version.checkpoint_dir) / "extractor").is_dir()  # self-contained
    assert extractor.is_active  # one active version per kind

    summary = SummaryFactory(document=docs[0], requested_model="matchsum", max_sentences=2)
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED, summary.error
    assert (summary.model, summary.version_id) == ("matchsum", version.pk)
    selected = [s["index"] for s in summary.sentences if s["selected"]]
    assert 1 <= len(selected) <= 2 and selected == sorted(selected)
