"""Checkpoint and run paths are stored relative to their state directory and read
absolute, so a moved var/ still serves; rows written before keep working."""

from __future__ import annotations

import pytest
from django.db import connection

from jobs.models import ModelVersion, TrainingRun
from jobs.services.training import start_training
from tests.jobs.training_fixtures import make_corpus

pytestmark = pytest.mark.django_db


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_checkpoint_under_the_training_dir_is_stored_relative_and_read_absolute(
    settings, tmp_path
):
    settings.TRAINING_DIR = tmp_path / "var" / "runs"
    best = settings.TRAINING_DIR / "run-7" / "best"
    version = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(best))
    assert stored("jobs_modelversion", "checkpoint_dir", version.pk) == "run-7/best"
    assert ModelVersion.objects.get(pk=version.pk).checkpoint_dir == str(best)
    assert ModelVersion.objects.filter(checkpoint_dir=str(best)).count() == 1

    # var/ restored elsewhere: the same row resolves under the new root.
    settings.TRAINING_DIR = tmp_path / "restored" / "runs"
    moved = ModelVersion.objects.get(pk=version.pk).checkpoint_dir
    assert moved == str(tmp_path / "restored" / "runs" / "run-7" / "best")


def test_paths_outside_the_root_and_rows_written_absolute_are_kept(settings, tmp_path):
    settings.TRAINING_DIR = tmp_path / "runs"
    elsewhere = tmp_path / "models" / "cnn"
    version = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(elsewhere))
    assert stored("jobs_modelversion", "checkpoint_dir", version.pk) == str(elsewhere)
    # A row from before this change: an absolute path (under the root, even) reads as it is.
    old = str(tmp_path / "runs" / "run-1" / "best")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE jobs_modelversion SET checkpoint_dir = %s WHERE id = %s", [old, version.pk]
        )
    assert ModelVersion.objects.get(pk=version.pk).checkpoint_dir == old


def test_a_runs_directories_are_stored_relative_to_their_roots(settings, tmp_path, staff):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tensorboard"
    make_corpus(staff, train=3, val=2)
    run = start_training("bertsumext", triggered_by=staff)
    assert stored("jobs_trainingrun", "out_dir", run.pk) == f"run-{run.pk}"
    assert stored("jobs_trainingrun", "tensorboard_logdir", run.pk) == f"run-{run.pk}"
    fresh = TrainingRun.objects.get(pk=run.pk)
    assert fresh.out_dir == str(tmp_path / "runs" / f"run-{run.pk}")
    assert fresh.tensorboard_logdir == str(tmp_path / "tensorboard" / f"run-{run.pk}")
