"""The periodic tasks record what actually ran (ScheduleRun): beat's own counters
only say what it sent, or tried to send."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from jobs import messages, tasks
from jobs.models import ScheduleRun
from jobs.services import schedules

pytestmark = pytest.mark.django_db


def test_a_successful_run_records_its_time_and_a_later_one_updates_it():
    tasks.reap_stale_jobs()
    first = ScheduleRun.objects.get(schedule=messages.REAP_STALE_JOBS)
    assert first.last_success_at is not None
    assert (first.successes, first.failures, first.last_error) == (1, 0, "")

    tasks.reap_stale_jobs()
    second = ScheduleRun.objects.get(schedule=messages.REAP_STALE_JOBS)
    assert second.last_success_at > first.last_success_at
    assert second.successes == 2


def test_a_task_that_raises_records_its_error_and_still_fails(monkeypatch):
    def broken(kind):
        raise RuntimeError(f"no {kind} today")

    monkeypatch.setattr(tasks, "retrain", broken)
    with pytest.raises(RuntimeError, match="no bertsumext today"):
        tasks.retrain_if_new_data()
    run = ScheduleRun.objects.get(schedule=messages.RETRAIN_IF_NEW_DATA)
    assert run.last_error == "RuntimeError: no bertsumext today"
    assert run.last_failure_at is not None and run.last_success_at is None
    assert run.failures == 1

    monkeypatch.undo()
    tasks.retrain_if_new_data()  # no labelled data: nothing to start, but it ran
    run.refresh_from_db()
    assert run.last_success_at > run.last_failure_at
    assert run.last_error == "RuntimeError: no bertsumext today"  # kept for the record


def test_a_run_sent_by_beat_is_recorded_under_its_periodic_task():
    """django-celery-beat sends each run with the header periodic_task_name."""
    tasks.reap_stale_jobs.apply(headers={"periodic_task_name": "reap-stale-jobs"})
    run = ScheduleRun.objects.get()
    assert (run.schedule, run.task, run.successes) == (
        "reap-stale-jobs",
        messages.REAP_STALE_JOBS,
        1,
    )


def test_a_failure_to_record_never_hides_the_tasks_own_outcome(monkeypatch):
    def no_database(*args):
        raise DatabaseError("database is down")

    monkeypatch.setattr(schedules, "record_success", no_database)
    monkeypatch.setattr(schedules, "record_failure", no_database)
    with schedules.recorded("example", "jobs.example"):
        pass  # the body succeeded: recording's failure is only logged
    with pytest.raises(KeyError), schedules.recorded("example", "jobs.example"):
        raise KeyError("the task's own error")  # not the DatabaseError
    assert not ScheduleRun.objects.exists()
