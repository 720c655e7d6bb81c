"""Training runs in the service: start, settings, one per kind, cancel, schedule."""

import pytest

from jobs.models import (
    JobStatus,
    TrainingRun,
    Trigger,
)
from jobs.services.errors import InvalidInput
from jobs.services.reviews import set_label
from jobs.services.training import cancel_training, start_training
from jobs.workers import train as train_worker
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


def test_start_training_refuses_without_data(staff):
    with pytest.raises(InvalidInput, match="no documents in split 'train'"):
        start_training("bertsumext", triggered_by=staff)
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
    with pytest.raises(InvalidInput, match=needle):
        start_training(kind, params=params, triggered_by=staff)
    assert not TrainingRun.objects.exists()


def test_training_settings_layer_recipe_deployment_defaults_and_params(settings):
    from jobs.services.training import training_config

    # The shipped recipe (the ml config defaults): BertSumExt trains as measured best;
    # MatchSum gets none of BertSumExt's settings.
    shipped = training_config("bertsumext", {})
    assert shipped.model.sentence_pooling == "mean" and shipped.train_windows == "all"
    assert shipped.head_lr == 2e-4 and shipped.model.attention_dropout == 0.0
    assert not hasattr(training_config("matchsum", {}), "head_lr")
    # With no deployment override the service trains what `python -m ml train` with
    # only the paths trains; it also scores its training documents afterwards (for the
    # review queue), which changes nothing that is trained.
    import dataclasses

    from ml import cli
    from ml.cli.train import resolve_cli_config

    settings.TRAINING_DEFAULTS = {}
    settings.TRAINING_SCORED_TRAIN_DOCUMENTS = 7
    for kind in ("bertsumext", "matchsum"):
        paths = ["train", "--train", "t.jsonl", "--val", "v.jsonl", "--out", "out"]
        args = cli.build_parser().parse_args([*paths, "--model", kind])
        service = training_config(kind, {})
        assert service.score_train_documents == 7
        cli_config = resolve_cli_config(args)
        assert cli_config.score_train_documents == 0
        assert dataclasses.replace(service, score_train_documents=0) == cli_config

    settings.TRAINING_DEFAULTS = {"model": {"attention_dropout": 0.1}, "batch_size": 16}
    config = training_config("bertsumext", {"model": {"max_pos": 128}, "lr": 1e-4})
    assert (config.model.sentence_pooling, config.model.max_pos) == ("mean", 128)
    assert config.model.attention_dropout == 0.1
    assert (config.batch_size, config.lr) == (16, 1e-4)  # deployment over recipe, params last
    assert training_config("matchsum", {}).batch_size == 16  # the override applies to every kind


def test_one_active_run_per_kind(staff):
    make_corpus(staff)
    start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    with pytest.raises(InvalidInput, match="already queued or running"):
        start_training("bertsumext", params=tiny_params(), triggered_by=staff)


def test_cancel_queued_and_running(staff):
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert cancel_training(run) is True
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert cancel_training(run) is False
    train_worker.run(run.pk)  # a late message for a cancelled run does nothing
    run.refresh_from_db()
    assert run.attempts == 0

    running = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    TrainingRun.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING)
    running.refresh_from_db()
    assert cancel_training(running) is True
    running.refresh_from_db()
    assert running.status == JobStatus.RUNNING and running.cancel_requested


@pytest.mark.django_db(transaction=True)
def test_scheduled_retrain_only_with_new_data_or_corrections(staff, settings):
    """Calls the task beat runs (`jobs.retrain_if_new_data`), as beat would; the runs are
    real (tiny) runs, so each records the manifest the schedule compares with."""
    from jobs.models import ScheduleRun
    from jobs.services.training import ScheduledRunNotStarted, retraining_plan
    from jobs.tasks import retrain_if_new_data

    def scheduled_runs():
        return list(TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).order_by("pk"))

    settings.SCHEDULED_TRAINING_PARAMS = tiny_params()
    assert retraining_plan().reason == "would not start: no labelled training documents"
    retrain_if_new_data("bertsumext")
    assert scheduled_runs() == []  # no data at all
    docs = make_corpus(staff)
    assert (
        retraining_plan().reason
        == "would start: 6 labelled training documents, no earlier run recorded"
    )
    retrain_if_new_data("bertsumext")
    (first,) = scheduled_runs()
    assert retraining_plan().reason == f"would not start: {first} is in progress"
    retrain_if_new_data("bertsumext")
    assert scheduled_runs() == [first]  # one is running
    train_worker.run(first.pk)
    first.refresh_from_db()
    assert first.status == JobStatus.SUCCEEDED, first.error
    retrain_if_new_data("bertsumext")
    assert scheduled_runs() == [first]  # nothing new since

    set_label(docs[0], 0, 0, staff)  # a staff label on a document with a reference
    assert retraining_plan().reason == (f"would start: 1 correction since run {first.pk}")
    # New data, but the scheduled params are bad: the schedule's failure, not a silent skip.
    settings.SCHEDULED_TRAINING_PARAMS = {"lr": "fast"}
    with pytest.raises(ScheduledRunNotStarted, match="SCHEDULED_TRAINING_PARAMS"):
        retrain_if_new_data("bertsumext")
    failed = ScheduleRun.objects.get(schedule="jobs.retrain_if_new_data")
    assert failed.failures == 1 and "invalid training params" in failed.last_error
    assert "would start: 1 correction" in failed.last_error
    settings.SCHEDULED_TRAINING_PARAMS = tiny_params()
    retrain_if_new_data("bertsumext")
    assert len(scheduled_runs()) == 2
