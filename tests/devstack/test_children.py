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


def test_the_web_server_runs_threads_sized_by_settings(tmp_path, settings):
    settings.WEB_THREADS = 6
    web = next(c for c in service_children(OPTS, tmp_path) if c.name == "web")
    assert "--config=python:summarizer_project.gunicorn_config" in web.argv
    assert "--workers=1" in web.argv  # runstack's --web-workers (default WEB_CONCURRENCY)
    assert "--threads=6" in web.argv


def test_gunicorn_reads_its_process_model_from_settings(settings):
    from summarizer_project import gunicorn_config

    assert gunicorn_config.worker_class == "gthread"
    assert gunicorn_config.workers == settings.WEB_CONCURRENCY
    assert gunicorn_config.threads == settings.WEB_THREADS


def test_runstack_defaults_come_from_the_serving_settings(settings):
    from devstack.management.commands.runstack import Command

    parser = Command().create_parser("manage.py", "runstack")
    opts = vars(parser.parse_args([]))
    assert opts["web_workers"] == settings.WEB_CONCURRENCY
    assert opts["web_threads"] == settings.WEB_THREADS
    assert opts["inference_concurrency"] == settings.INFERENCE_CONCURRENCY
