"""The memory limit is the inference worker's: the training worker turns it off."""

from __future__ import annotations

from devstack.children import service_children

OPTS = {
    "inference_concurrency": 2,
    "port": 8000,
    "web_workers": 1,
    "no_tensorboard": True,
    "tensorboard_port": 6006,
}


def test_only_the_training_worker_turns_the_memory_limit_off(tmp_path, settings):
    assert settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD > 0  # the app's config: every worker
    argv = {child.name: child.argv for child in service_children(OPTS, tmp_path)}
    assert "--max-memory-per-child=0" in argv["worker-training"]
    assert not any("max-memory" in a for a in argv["worker-inference"])


def test_the_celery_app_reads_the_limit_from_settings(settings):
    from summarizer_project.celery import app

    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD
