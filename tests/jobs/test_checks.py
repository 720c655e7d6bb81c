"""The system checks on time limits and beat schedules (jobs/checks.py): the shipped
config passes; a task whose soft limit exceeds its hard one (what Celery refuses to
send: issue #14) or an unregistered scheduled task fails `manage.py check`."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from django.core.checks import run_checks
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from jobs import checks, messages
from tests.summarizer_project.helpers import ROOT, clean_env

PROJECT_TASKS = (
    messages.SUMMARIZE,
    messages.TRAIN,
    messages.REAP_STALE_JOBS,
    messages.RETRAIN_IF_NEW_DATA,
)


def job_errors(**kwargs):
    return [e for e in run_checks(**kwargs) if e.id.startswith("jobs.")]


def periodic(name: str, task: str) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name=name, task=task, interval=every)


@pytest.fixture
def fake_tasks(monkeypatch):
    """Registered tasks as the checks see them, with limits the test chooses."""
    tasks = {name: SimpleNamespace(soft_time_limit=50, time_limit=100) for name in PROJECT_TASKS}
    monkeypatch.setattr(checks, "celery_tasks", lambda: tasks)
    return tasks


def test_every_project_task_sets_consistent_limits(settings):
    tasks = checks.celery_tasks()
    for name in PROJECT_TASKS:
        limits = checks.effective_limits(tasks[name])
        assert limits.soft and limits.hard, name
        assert limits.soft <= limits.hard < settings.CELERY_VISIBILITY_TIMEOUT, (name, limits)
    scheduled = checks.effective_limits(tasks[messages.REAP_STALE_JOBS])
    assert (scheduled.soft, scheduled.hard) == (
        settings.SCHEDULED_SOFT_TIME_LIMIT,
        settings.SCHEDULED_TIME_LIMIT,
    )


def test_the_shipped_config_and_schedules_pass(db):
    periodic("retrain", messages.RETRAIN_IF_NEW_DATA)
    periodic("reap-stale-jobs", messages.REAP_STALE_JOBS)
    assert job_errors(databases=["default"]) == []


def test_soft_above_hard_fails_for_the_task_and_its_schedules(db, fake_tasks):
    fake_tasks[messages.REAP_STALE_JOBS].soft_time_limit = 600  # the issue #14 config
    periodic("reaper-row", messages.REAP_STALE_JOBS)
    errors = job_errors(databases=["default"])
    assert {e.id for e in errors} == {"jobs.E004"}
    said = sorted(e.msg for e in errors)
    assert said == [
        "CELERY_BEAT_SCHEDULE entry 'reap-stale-jobs' (jobs.reap_stale_jobs): soft_time_limit "
        "(600s) is above time_limit (100s); Celery refuses to send it (SchedulingError in beat)",
        "PeriodicTask 'reaper-row' (jobs.reap_stale_jobs): soft_time_limit (600s) is above "
        "time_limit (100s); Celery refuses to send it (SchedulingError in beat)",
        "task 'jobs.reap_stale_jobs': soft_time_limit (600s) is above time_limit (100s); "
        "Celery refuses to send it (SchedulingError in beat)",
    ]


def test_an_unregistered_or_unlimited_scheduled_task_fails(db, fake_tasks, settings):
    periodic("typo", "jobs.reap_stale_job")
    periodic("disabled typo", "jobs.nothing")
    PeriodicTask.objects.filter(name="disabled typo").update(enabled=False)
    settings.CELERY_BEAT_SCHEDULE = {
        "reap": {"task": messages.REAP_STALE_JOBS, "schedule": 60, "options": {"time_limit": None}}
    }
    errors = job_errors(databases=["default"])
    assert sorted((e.id, e.msg) for e in errors) == [
        (
            "jobs.E001",
            "CELERY_BEAT_SCHEDULE entry 'reap' (jobs.reap_stale_jobs): time_limit (none) must "
            f"be set and below CELERY_VISIBILITY_TIMEOUT ({settings.CELERY_VISIBILITY_TIMEOUT}s)",
        ),
        (
            "jobs.E005",
            "PeriodicTask 'typo' runs task 'jobs.reap_stale_job', which is not registered",
        ),
    ]


def test_the_rows_are_read_only_with_a_database(db, fake_tasks):
    periodic("typo", "jobs.reap_stale_job")
    assert job_errors() == []  # plain `manage.py check`: no database
    assert [e.id for e in job_errors(databases=["default"])] == ["jobs.E005"]


def test_limits_at_or_above_the_visibility_timeout_fail(fake_tasks, settings):
    settings.CELERY_VISIBILITY_TIMEOUT = 100
    errors = job_errors()
    assert {e.id for e in errors} == {"jobs.E001"}
    assert any("task 'jobs.train'" in e.msg for e in errors)


def test_manage_py_check_refuses_the_issue_14_config(tmp_path):
    """The real command, the real tasks: the reaper's soft limit above its hard one."""
    env = clean_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.test",
        SUMMARIZER_TEST_CHILD="1",  # keeps the variable below (settings/hermetic.py)
        SCHEDULED_SOFT_TIME_LIMIT="600",
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "(jobs.E004) task 'jobs.reap_stale_jobs': soft_time_limit (600s)" in proc.stderr
    assert "(jobs.E004) task 'jobs.retrain_if_new_data'" in proc.stderr


def test_a_summary_stale_after_not_well_above_its_heartbeat_fails(fake_tasks, settings):
    settings.SUMMARY_HEARTBEAT_SECONDS = 5.0
    settings.SUMMARY_STALE_AFTER = 10  # two beats: one late beat would requeue a live job
    assert {e.id for e in job_errors()} == {"jobs.E002"}
    settings.SUMMARY_STALE_AFTER = 30
    assert job_errors() == []


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan"), float("inf"), "0.2", None, True])
def test_a_labelled_validation_fraction_outside_0_1_fails_the_check(settings, fraction):
    """Review finding (#22): LABELLED_VALIDATION_FRACTION was not range-checked; 1.5
    silently sent every labelled text to validation (nothing to train on), -0.1 none."""
    settings.LABELLED_VALIDATION_FRACTION = fraction
    [error] = [e for e in checks.labelled_validation_fraction(None) if e.id == "jobs.E006"]
    assert "LABELLED_VALIDATION_FRACTION" in error.msg and "[0, 1]" in error.msg
    assert repr(fraction) in error.msg


@pytest.mark.parametrize("fraction", [0, 0.0, 0.2, 1, 1.0])
def test_a_labelled_validation_fraction_in_0_1_passes(settings, fraction):
    settings.LABELLED_VALIDATION_FRACTION = fraction
    assert checks.labelled_validation_fraction(None) == []


def test_manage_py_check_fails_on_a_bad_labelled_validation_fraction(tmp_path):
    """The env override as an operator sets it: `manage.py check` (and every management
    command, runserver and migrate included, which run the checks) stops with the error."""
    env = clean_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.test",
        SUMMARIZER_TEST_CHILD="1",  # keeps the variable below (settings/hermetic.py)
        LABELLED_VALIDATION_FRACTION="1.5",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "jobs.E006" in result.stderr and "LABELLED_VALIDATION_FRACTION" in result.stderr
