"""A failing periodic task shows on the admin's front page within a minute, through a
real `celery beat` and worker started as `manage.py runstack` starts them.

The failure: staff edited the retraining PeriodicTask's kwargs to one the task does
not take. Celery refuses to send it (beat's SchedulingError, as in issue #14), so no
task body ever runs; jobs.beat.RecordingScheduler records the refusal.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from jobs import messages
from tests.integration.test_beat import stack_argv

pytestmark = pytest.mark.integration

WITHIN = 60  # seconds from beat's start: the "visible within a minute"


def front_page_row(client: Client, name: str) -> str:
    html = client.get(reverse("admin:index")).content.decode()
    match = re.search(rf'<tr data-schedule="{re.escape(name)}">(.*?)</tr>', html, re.S)
    return re.sub(r"\s+", " ", match.group(1)) if match else ""


def test_a_failing_periodic_task_is_on_the_front_page_within_a_minute(workers, staff, tmp_path):
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="retrain-typo",
        task=messages.RETRAIN_IF_NEW_DATA,
        interval=every,
        kwargs=json.dumps({"kynd": "bertsumext"}),
        queue="default",
    )
    env = {"REAPER_INTERVAL_SECONDS": "2"}
    argv = stack_argv(tmp_path)
    workers.start_command("worker-inference", argv["worker-inference"], **env)
    started = time.monotonic()
    workers.start_command("beat", argv["beat"], ping=False, **env)
    client = Client()
    client.force_login(staff)

    row = ""
    while "failing" not in row or "reap" not in front_page_row(client, "reap-stale-jobs"):
        if time.monotonic() - started > WITHIN:
            raise AssertionError(f"not on the front page in {WITHIN}s: {row!r}\n{workers.logs()}")
        time.sleep(1)
        row = front_page_row(client, "retrain-typo")

    print(
        f"failing schedule on the front page {time.monotonic() - started:.1f}s after beat started"
    )
    assert '<strong class="jobs-error">failing</strong>' in row
    assert "TypeError" in row and "kynd" in row, row
    assert "never" in row  # it never succeeded
    # The reaper beside it runs fine, and the worker shows on the page.
    reaper = front_page_row(client, "reap-stale-jobs")
    deadline = time.monotonic() + 30
    while "<td>ok</td>" not in reaper and time.monotonic() < deadline:
        time.sleep(1)
        reaper = front_page_row(client, "reap-stale-jobs")
    assert "<td>ok</td>" in reaper, reaper
    html = client.get(reverse("admin:index")).content.decode()
    assert re.search(r'<tr data-worker="inference@[^"]+"><td>', html), html
    assert '<tr data-queue="inference">' in html


def test_bad_scheduled_training_params_are_the_schedules_failure_on_the_front_page(
    workers, staff, tmp_path
):
    """New data, but SCHEDULED_TRAINING_PARAMS the training config refuses: the run cannot
    start, and the front page says so with the reason (issue #22: it was logged and
    swallowed, and the schedule showed "ok" every week)."""
    from jobs.models import TrainingRun
    from tests.integration.test_beat import retrain_every
    from tests.jobs.training_fixtures import make_corpus

    make_corpus(staff)
    task = retrain_every(2)
    env = {"SCHEDULED_TRAINING_PARAMS": json.dumps({"lr": "fast"})}
    argv = stack_argv(tmp_path)
    workers.start_command("worker-inference", argv["worker-inference"], **env)
    workers.start_command("beat", argv["beat"], ping=False, **env)
    client = Client()
    client.force_login(staff)

    row = workers.wait_for(
        lambda: (r := front_page_row(client, task.name)) and "failing" in r and r,
        WITHIN,
        "the retraining schedule failing on the front page",
    )
    assert '<strong class="jobs-error">failing</strong>' in row
    assert "ScheduledRunNotStarted" in row, row
    assert "not started (SCHEDULED_TRAINING_PARAMS): invalid training params" in row, row
    assert "would start: 6 labelled training documents" in row  # what it tried to do
    assert not TrainingRun.objects.exists()
