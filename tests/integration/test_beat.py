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
