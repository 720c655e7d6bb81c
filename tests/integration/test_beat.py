"""Real `celery beat` and a real worker, started with the command lines `manage.py
runstack` uses (devstack.children), on the test database and broker: the reaper
requeues a lost summary, the retraining schedule starts a run, and beat logs no
SchedulingError (issue #14: Celery refused to send both, every minute).

The intervals are shortened: the reaper's static schedule by REAPER_INTERVAL_SECONDS,
the retraining row (a weekly crontab in production) by an interval of a few seconds.
"""

from __future__ import annotations

import importlib
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from devstack.children import service_children
from jobs import messages
from jobs.models import JobStatus, ScheduleRun, Summary, TrainingRun, Trigger
from tests.factories import SummaryFactory
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = pytest.mark.integration

RETRAIN_TASK_NAME = importlib.import_module("jobs.migrations.0003_retrain_schedule").TASK_NAME
DEADLINE = 90  # seconds; beat and the worker each import Django, on a loaded machine


def stack_argv(log_dir) -> dict[str, list[str]]:
    """The runstack children's command lines, by name."""
    opts = {"inference_concurrency": 1, "port": 0, "web_workers": 1, "no_tensorboard": True}
    return {child.name: child.argv for child in service_children(opts, log_dir)}


def retrain_every(seconds: int) -> PeriodicTask:
    """The retraining schedule of migration 0003 (flushed by earlier transactional
    tests, so made again), due every few seconds instead of weekly."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=RETRAIN_TASK_NAME,
        defaults={
            "task": messages.RETRAIN_IF_NEW_DATA,
            "interval": every,
            "crontab": None,
            "kwargs": json.dumps({"kind": "bertsumext"}),
            "queue": "default",
            "enabled": True,
        },
    )
    return task


def test_beat_runs_the_reaper_and_the_retraining_schedule(workers, staff, tmp_path):
    make_corpus(staff)  # labelled documents, no run yet: the schedule has new data
    lost = SummaryFactory(
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(hours=1),  # its worker died long ago
    )
    retrain_every(3)
    env = {
        "REAPER_INTERVAL_SECONDS": "2",
        "SCHEDULED_TRAINING_PARAMS": json.dumps(tiny_params()),
        "TRAINING_DIR": str(tmp_path / "runs"),
        "TENSORBOARD_LOGDIR": str(tmp_path / "tb"),
    }
    argv = stack_argv(tmp_path)
    workers.start_command("worker-inference", argv["worker-inference"], **env)
    workers.start_command("beat", argv["beat"], ping=False, **env)
    beat_log = tmp_path / "beat.log"

    def done():
        summary = Summary.objects.get(pk=lost.pk)
        runs = ScheduleRun.objects.filter(last_success_at__isnull=False)
        return (
            summary.status == JobStatus.SUCCEEDED
            and TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).exists()
            and {r.schedule for r in runs} == {"reap-stale-jobs", RETRAIN_TASK_NAME}
        )

    deadline = time.monotonic() + DEADLINE
    while not done():
        if time.monotonic() > deadline or "SchedulingError" in beat_log.read_text():
            raise AssertionError(
                f"beat did not run both schedules in {DEADLINE}s: summary "
                f"{Summary.objects.filter(pk=lost.pk).values('status', 'attempts', 'error')}, "
                f"runs {list(TrainingRun.objects.values('trigger', 'status'))}, "
                f"schedule runs {list(ScheduleRun.objects.values())}\n{workers.logs()}"
            )
        time.sleep(0.5)

    # The reaper requeued it (a second attempt) and the worker summarized it.
    lost.refresh_from_db()
    assert lost.attempts == 2, lost.error
    # The schedule started one run, with the scheduled params; later ticks see it queued.
    run = TrainingRun.objects.get()
    assert (run.trigger, run.status) == (Trigger.SCHEDULE, JobStatus.QUEUED)
    scheduled = {k: v for k, v in tiny_params().items() if k != "model"}
    assert {k: run.params[k] for k in scheduled} == scheduled
    log = beat_log.read_text()
    assert "scheduler -> jobs.beat.RecordingScheduler" in log
    assert "Sending due task reap-stale-jobs (jobs.reap_stale_jobs)" in log
    assert f"Sending due task {RETRAIN_TASK_NAME} (jobs.retrain_if_new_data)" in log
    assert "SchedulingError" not in log, log
    assert ScheduleRun.objects.filter(failures__gt=0).count() == 0


def test_removing_a_correction_starts_the_next_scheduled_run(workers, staff, tmp_path, settings):
    """A correction trained on, then reverted (its override row deleted): real beat fires
    the retraining schedule, which first finds nothing new, then, once the correction
    is gone, starts a run (issue #22: the schedule never noticed a removed label)."""
    from jobs.models import LabelOverride, SentenceError
    from jobs.services.reviews import revert_override, review_errors
    from jobs.services.training import start_training
    from jobs.workers import train as train_worker

    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    settings.TRAINING_DEVICE = "cpu"
    make_corpus(staff)
    quick = tiny_params(max_steps=2, eval_every=2)
    first = start_training("bertsumext", params=quick, triggered_by=staff)
    train_worker.run(first.pk)
    error = SentenceError.objects.filter(run=first, split="train").first()
    assert error is not None, "the tiny model misclassifies some training sentences"
    review_errors([error], "flip", staff)
    second = start_training("bertsumext", params=quick, triggered_by=staff)
    train_worker.run(second.pk)
    second.refresh_from_db()
    assert second.status == JobStatus.SUCCEEDED, second.error
    assert second.manifest["train"]["corrections"] == 1

    retrain_every(2)
    env = {
        "SCHEDULED_TRAINING_PARAMS": json.dumps(quick),
        "TRAINING_DIR": str(tmp_path / "runs"),
        "TENSORBOARD_LOGDIR": str(tmp_path / "tb"),
    }
    argv = stack_argv(tmp_path)
    workers.start_command("worker-inference", argv["worker-inference"], **env)
    workers.start_command("beat", argv["beat"], ping=False, **env)

    def schedule_succeeded_after(moment):
        row = ScheduleRun.objects.filter(schedule=RETRAIN_TASK_NAME).first()
        return row is not None and row.last_success_at is not None and row.last_success_at > moment

    # Nothing new: the schedule runs (and succeeds) without starting anything.
    started = timezone.now()
    workers.wait_for(lambda: schedule_succeeded_after(started), DEADLINE, "a first schedule run")
    assert not TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).exists()

    revert_override(LabelOverride.objects.get(), staff)
    workers.wait_for(
        lambda: TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).exists(),
        DEADLINE,
        "a scheduled run after the correction was removed",
    )
    run = TrainingRun.objects.get(trigger=Trigger.SCHEDULE)
    assert run.pk > second.pk and run.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert ScheduleRun.objects.get(schedule=RETRAIN_TASK_NAME).failures == 0
