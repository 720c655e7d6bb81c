"""What each periodic task last did."""

from __future__ import annotations

from django.db import models


class ScheduleRun(models.Model):
    """The outcome of a periodic task's runs: beat's own "last run" is when it *sent*
    one (or tried to), so only this says whether the schedule works."""

    schedule = models.CharField(
        max_length=200,
        unique=True,
        help_text="The PeriodicTask's name (beat's periodic_task_name header), else the task's.",
    )
    task = models.CharField(max_length=200, help_text="The Celery task name.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="The last failure's exception.")
    successes = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.schedule
