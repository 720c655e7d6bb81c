"""Create the weekly "retrain if new data" schedule; staff edit it in the admin."""

import json

from django.db import migrations

TASK_NAME = "Retrain BertSumExt when there is new labelled data"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="0", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "jobs.retrain_if_new_data",
            "crontab": crontab,
            "kwargs": json.dumps({"kind": "bertsumext"}),
            "queue": "default",
            "description": "Weekly (Sunday 03:00 UTC). Starts a run only when documents "
            "with reference summaries or label corrections are new since the last run; "
            "the new model is promoted only if it does not regress.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_training"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
