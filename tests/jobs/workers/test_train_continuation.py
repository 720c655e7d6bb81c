"""The training worker at its task's soft time limit: the run goes on in a new task."""

import base64
import json
import signal
from pathlib import Path

import pytest
from billiard.pool import SIG_SOFT_TIMEOUT
from celery.exceptions import SoftTimeLimitExceeded

from jobs.models import JobStatus, ModelVersion, TrainingRun
from jobs.services.training import start_training
from jobs.workers import train as train_worker
from ml.checkpoints import list_training_checkpoints
from tests.jobs.training_fixtures import make_corpus, tiny_params

# transactional_db: the heartbeat thread has its own connection and must see the rows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("training_dirs")]


@pytest.fixture(autouse=True)
def soft_limit_signal_ignored():
    """SIGUSR1 ends a process by default: ignore a late one while these tests run."""
    previous = signal.signal(SIG_SOFT_TIMEOUT, lambda *args: None)
    yield
    signal.signal(SIG_SOFT_TIMEOUT, previous)


@pytest.fixture
def training_queue():
    """The broker's training queue, emptied; returns the run ids of the messages on it."""
    from summarizer_project.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("training")

    def run_ids() -> list[int]:
        with app.connection_for_write() as conn:
            raw = conn.default_channel.client.lrange("training", 0, -1)
        # A kombu message on Redis: JSON whose base64 body is [args, kwargs, embed].
        return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in raw]

    return run_ids


def checkpoint_steps(run: TrainingRun) -> list[str]:
    return [p.name for p in list_training_checkpoints(Path(run.out_dir) / "checkpoints")]


def test_soft_limit_checkpoints_the_step_and_continues_in_a_new_task(
    staff, monkeypatch, settings, training_queue
):
    settings.TRAINING_PROGRESS_SECONDS = 0
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(max_steps=8, eval_every=4))
    assert training_queue() == [run.pk]
    import ml.models.bertsumext.train

    real_train = ml.models.bertsumext.train.train

    def train_until_the_soft_limit(*args, on_progress, **kwargs):
        def progress(step, total, loss):
            on_progress(step, total, loss)
            if step == 3:  # what Celery's pool sends this process at the soft limit
                signal.raise_signal(SIG_SOFT_TIMEOUT)

        return real_train(*args, on_progress=progress, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(ml.models.bertsumext.train, "train", train_until_the_soft_limit)
        train_worker.run(run.pk)
    run.refresh_from_db()
    # Handed off at step 3, checkpointed there, the continuation sent; no attempt used.
    assert (run.status, run.attempts, run.continuations) == (JobStatus.QUEUED, 0, 1)
    assert run.progress_step == 3 and run.lease_token is None and run.lease_owner == ""
    assert checkpoint_steps(run)[-1] == "step-0000003"
    assert training_queue() == [run.pk, run.pk]
    assert not ModelVersion.objects.exists()
    # The recipe was fixed at the first start: a deployment change meanwhile does not
    # reach the continuation.
    recipe = dict(run.resolved_config)
    assert (recipe["summary_sentences"], recipe["weight_decay"], recipe["max_steps"]) == (
        3,
        0.01,
        8,
    )
    settings.TRAINING_DEFAULTS = {"summary_sentences": 1, "weight_decay": 0.5}
    configs = []

    def train_and_record_the_config(config, *args, **kwargs):
        configs.append(config.to_dict())
        return real_train(config, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(ml.models.bertsumext.train, "train", train_and_record_the_config)
        train_worker.run(run.pk)  # the continuation
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert (run.attempts, run.continuations, run.resumed_from_step) == (1, 1, 3)
    assert run.progress_step == 8
    assert ModelVersion.objects.filter(run=run).count() == 1
    assert configs == [recipe] and run.resolved_config == recipe


def test_soft_limit_outside_the_loop_continues_from_the_last_checkpoint(
    staff, monkeypatch, training_queue
):
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(max_steps=4, eval_every=2))
    real_record = train_worker.record
    calls = []

    def out_of_time_while_recording(*args):
        calls.append(1)
        if len(calls) == 1:
            raise SoftTimeLimitExceeded()
        real_record(*args)

    monkeypatch.setattr(train_worker, "record", out_of_time_while_recording)
    train_worker.run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.continuations) == (JobStatus.QUEUED, 0, 1)
    assert checkpoint_steps(run)[-1] == "step-0000004"

    train_worker.run(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert (run.attempts, run.continuations, run.resumed_from_step) == (1, 1, 4)
    assert ModelVersion.objects.filter(run=run).count() == 1


def test_a_cancel_requested_before_the_continuation_cancels_it(staff):
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params())
    TrainingRun.objects.filter(pk=run.pk).update(continuations=1, cancel_requested=True)
    train_worker.run(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED and run.attempts == 0


def test_a_task_out_of_time_before_any_progress_fails_instead_of_looping(
    staff, monkeypatch, settings, training_queue
):
    settings.TRAINING_SOFT_TIME_LIMIT = 60
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params())

    def slow_data(job):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(train_worker, "build_training_data", slow_data)
    train_worker.run(run.pk)
    run.refresh_from_db()
    # Handing off would start the same slow task again, and again: this attempt fails.
    assert (run.status, run.attempts, run.continuations) == (JobStatus.FAILED, 1, 0)
    assert run.error == "the task's soft time limit (60 s) came before any progress"
    assert training_queue() == [run.pk]  # only start_training's message
