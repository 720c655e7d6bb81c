from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0009_review_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="trainingrun",
            name="continuations",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Times the run reached its task's time limit and went on in a new "
                "task from a checkpoint of that step (not failed attempts).",
            ),
        ),
        migrations.AddField(
            model_name="trainingrun",
            name="lease_owner",
            field=models.CharField(
                blank=True,
                help_text="The worker process holding the lease (host:pid:start), so a "
                "redelivered task can tell a dead owner on its own host from a live one.",
                max_length=200,
            ),
        ),
    ]
