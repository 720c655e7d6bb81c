"""Messages to the workers: sent by task name, to the task's queue, only on commit."""

import pytest
from celery import current_app
from django.conf import settings

from jobs import messages, tasks
from jobs.services.documents import DocumentInput, submit_document
from jobs.services.training import start_training
from tests.factories import ARTICLE
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


NO_LIMITS = {"time_limit": None, "soft_time_limit": None}


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, **options: calls.append((name, options))
    )
    return calls


def test_a_submitted_document_sends_jobs_summarize_to_inference_on_commit(
    user, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sub = submit_document(user, DocumentInput(text=ARTICLE))
        assert sent == []  # nothing before the commit
    assert len(callbacks) == 1
    summarize = {"args": [sub.summary.pk], "queue": "inference", **NO_LIMITS}
    assert sent == [("jobs.summarize", summarize)]


def test_a_started_run_sends_jobs_train_to_training_on_commit(
    staff, sent, django_capture_on_commit_callbacks
):
    make_corpus(staff)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    assert sent == [("jobs.train", {"args": [run.pk], "queue": "training", **NO_LIMITS})]


def test_the_names_are_the_registered_tasks_and_the_queues_their_routes():
    assert tasks.summarize.name == messages.SUMMARIZE == "jobs.summarize"
    assert tasks.train.name == messages.TRAIN == "jobs.train"
    assert tasks.reap_stale_jobs.name == messages.REAP_STALE_JOBS == "jobs.reap_stale_jobs"
    assert tasks.retrain_if_new_data.name == messages.RETRAIN_IF_NEW_DATA
    for name, queue_name in messages.QUEUES.items():
        assert settings.CELERY_TASK_ROUTES[name] == {"queue": queue_name}
    assert settings.CELERY_BEAT_SCHEDULE["reap-stale-jobs"]["task"] == messages.REAP_STALE_JOBS


def test_a_message_carries_no_time_limits_so_the_worker_settings_decide(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Celery 5.7's send_task copies a task's limits from the sender's registry into the
    message, where they override the worker's: a training worker started with
    TRAINING_SOFT_TIME_LIMIT=60 would run under the web's 3300 s."""
    assert current_app.tasks[messages.TRAIN].soft_time_limit == settings.TRAINING_SOFT_TIME_LIMIT
    sent_headers = []
    create = current_app.amqp.create_task_message

    def record(task_id, name, args, kwargs, *rest, **options):
        message = create(task_id, name, args, kwargs, *rest, **options)
        sent_headers.append(message.headers)
        return message

    monkeypatch.setattr(current_app.amqp, "create_task_message", record)
    monkeypatch.setattr(current_app.amqp, "send_task_message", lambda *a, **k: None)
    with django_capture_on_commit_callbacks(execute=True):
        messages.enqueue_on_commit(messages.TRAIN, 1)
    assert [headers["timelimit"] for headers in sent_headers] == [[None, None]]
