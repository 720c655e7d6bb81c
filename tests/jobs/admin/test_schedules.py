"""The front page shows each periodic task's last success and failure, and flags a
schedule that fails, is late, or was sent but never succeeded (issue #14: beat's
run count grew while Celery refused to send the reaper)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from jobs import messages, tasks
from jobs.models import ScheduleRun, TrainingRun
from tests.jobs.admin.helpers import ensure_retrain_schedule

pytestmark = pytest.mark.django_db


def every_minute(name: str, task: str, **fields) -> PeriodicTask:
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name=name, task=task, interval=interval, **fields)


def sent_by(name: str) -> dict[str, str]:
    """The header django-celery-beat sends each run of a PeriodicTask with."""
    return {"periodic_task_name": name}


def schedule_row(staff_client, name: str) -> str:
    html = staff_client.get(reverse("admin:index")).content.decode()
    match = re.search(rf'<tr data-schedule="{re.escape(name)}">(.*?)</tr>', html, re.S)
    assert match, html
    return re.sub(r"\s+", " ", match.group(1))


def test_a_failing_task_shows_its_error(staff_client, monkeypatch):
    every_minute("retrain", messages.RETRAIN_IF_NEW_DATA, total_run_count=3)

    def broken(kind):
        raise ValueError("training params are invalid")

    monkeypatch.setattr(tasks, "retrain", broken)
    with pytest.raises(ValueError):
        tasks.retrain_if_new_data.apply(headers=sent_by("retrain"), throw=True)
    row = schedule_row(staff_client, "retrain")
    assert '<strong class="jobs-error">failing</strong>' in row
    assert "ValueError: training params are invalid" in row
    assert "never" in row  # no success yet


def test_a_successful_run_shows_its_time(staff_client):
    every_minute("reaper", messages.REAP_STALE_JOBS, total_run_count=1)
    tasks.reap_stale_jobs.apply(headers=sent_by("reaper"), throw=True)
    success = ScheduleRun.objects.get(schedule="reaper").last_success_at
    row = schedule_row(staff_client, "reaper")
    assert "<td>ok</td>" in row
    assert timezone.localtime(success).strftime("%Y-%m-%d %H:%M:%S") in row


def test_sent_but_never_succeeded_and_late_are_flagged(staff_client):
    # What issue #14 looked like: beat counted 40 sends, none ran.
    every_minute(
        "refused", messages.REAP_STALE_JOBS, total_run_count=40, last_run_at=timezone.now()
    )
    assert '<strong class="jobs-error">never succeeded</strong>' in schedule_row(
        staff_client, "refused"
    )
    # It ran once, 10 minutes ago, and not since (due every minute).
    ScheduleRun.objects.create(
        schedule="refused",
        task=messages.REAP_STALE_JOBS,
        last_success_at=timezone.now() - timedelta(minutes=10),
    )
    assert '<strong class="jobs-error">late</strong>' in schedule_row(staff_client, "refused")
    # A schedule that has not come due yet is no problem.
    every_minute("new", messages.RETRAIN_IF_NEW_DATA)
    assert "<td>not run yet</td>" in schedule_row(staff_client, "new")


def test_the_weekly_retraining_is_late_only_after_a_missed_sunday(staff_client):
    ensure_retrain_schedule()
    task = PeriodicTask.objects.get(task=messages.RETRAIN_IF_NEW_DATA)
    run = ScheduleRun.objects.create(
        schedule=task.name, task=task.task, last_success_at=timezone.now()
    )
    assert "<td>ok</td>" in schedule_row(staff_client, task.name)
    run.last_success_at = timezone.now() - timedelta(days=8)  # a Sunday 03:00 went by
    run.save()
    assert '<strong class="jobs-error">late</strong>' in schedule_row(staff_client, task.name)


def test_each_schedule_shows_its_next_run_and_retraining_what_it_would_do(
    staff_client, staff, settings
):
    from tests.jobs.training_fixtures import make_corpus, tiny_params

    sent = timezone.now() - timedelta(seconds=20)
    every_minute("retrain", messages.RETRAIN_IF_NEW_DATA, last_run_at=sent)
    row = schedule_row(staff_client, "retrain")
    due = timezone.localtime(sent + timedelta(seconds=60))
    assert f'<td data-testid="next-run">{due.strftime("%Y-%m-%d %H:%M:%S")}' in row
    assert "would not start: no labelled training documents" in row

    make_corpus(staff)
    row = schedule_row(staff_client, "retrain")
    assert "would start: 6 labelled training documents, no earlier run recorded" in row
    assert 'data-testid="run-now"' in row

    # "Run it now" with bad scheduled params: the schedule's failure, with the reason.
    settings.SCHEDULED_TRAINING_PARAMS = {"lr": "fast"}
    task = PeriodicTask.objects.get(name="retrain")
    url = reverse("admin:jobs_trainingrun_retrain_now", args=[task.pk])
    page = staff_client.post(url, follow=True).content.decode()
    assert "not started (SCHEDULED_TRAINING_PARAMS): invalid training params" in page
    row = schedule_row(staff_client, "retrain")
    assert '<strong class="jobs-error">failing</strong>' in row
    assert "ScheduledRunNotStarted" in row and "invalid training params" in row
    assert not TrainingRun.objects.exists()

    # With good params it queues the run the schedule would, and says so.
    settings.SCHEDULED_TRAINING_PARAMS = tiny_params()
    response = staff_client.post(url, follow=True)
    run = TrainingRun.objects.get()
    assert (run.trigger, run.status) == ("schedule", "queued")
    assert f"Retrain: queued {run}." in response.content.decode()  # the admin capitalizes
    assert f"would not start: {run} is in progress" in schedule_row(staff_client, "retrain")
    assert "<td>ok</td>" in schedule_row(staff_client, "retrain")


def test_run_it_now_needs_post_and_the_change_permission(staff_client, user):
    from django.test import Client

    task = every_minute("retrain", messages.RETRAIN_IF_NEW_DATA)
    url = reverse("admin:jobs_trainingrun_retrain_now", args=[task.pk])
    assert staff_client.get(url).status_code == 302
    assert not ScheduleRun.objects.exists()
    user.is_staff = True
    user.save()
    viewer = Client()
    viewer.force_login(user)
    assert viewer.post(url).status_code in (302, 403)
    assert not ScheduleRun.objects.exists()
