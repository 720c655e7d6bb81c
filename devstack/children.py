"""What the stack runs: the command line of each child and the environment they share."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings

from . import embedded_redis
from .processes import HOST, Child


def _tool(name: str, module: str) -> list[str]:
    """The venv's console script NAME, else ``python -m MODULE``."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def redis_child(log_dir: Path) -> Child:
    return Child("redis", embedded_redis.argv(), log_dir / "redis.log", "the embedded Redis")


def _celery_children(opts: dict[str, Any], log_dir: Path) -> list[Child]:
    celery = [*_tool("celery", "celery"), "--app=summarizer_project"]
    # Inference children are replaced after a task that left them above
    # settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD (the app's config applies it).
    inference = "worker --loglevel=INFO --queues=inference,default --hostname=inference@%h"
    # One run at a time; a fresh child process per run gives its memory back, so
    # the memory limit (meant for inference) is off: a training child is large.
    training = (
        "worker --loglevel=INFO --queues=training --hostname=training@%h "
        "--concurrency=1 --max-tasks-per-child=1 --max-memory-per-child=0"
    )
    concurrency = f"--concurrency={opts['inference_concurrency']}"
    specs = [
        ("worker-inference", "the Celery inference worker", [*inference.split(), concurrency]),
        ("worker-training", "the Celery training worker", training.split()),
        ("beat", "Celery beat", ["beat", "--loglevel=INFO"]),
    ]
    return [Child(n, [*celery, *args], log_dir / f"{n}.log", what) for n, what, args in specs]


def _web_child(opts: dict[str, Any], log_dir: Path) -> Child:
    web = "summarizer_project.wsgi:application --graceful-timeout=10 --access-logfile=-"
    argv = [
        *_tool("gunicorn", "gunicorn"),
        *web.split(),
        f"--bind={HOST}:{opts['port']}",
        "--config=python:summarizer_project.gunicorn_config",  # gthread
        f"--workers={opts['web_workers']}",
        f"--threads={opts.get('web_threads') or settings.WEB_THREADS}",
    ]
    return Child("web", argv, log_dir / "web.log", "the web server (gunicorn)")


def _tensorboard_child(opts: dict[str, Any], log_dir: Path) -> Child:
    argv = [
        *_tool("tensorboard", "tensorboard.main"),
        f"--logdir={settings.TENSORBOARD_LOGDIR}",
        f"--host={HOST}",
        f"--port={opts['tensorboard_port']}",
    ]
    return Child("tensorboard", argv, log_dir / "tensorboard.log", "TensorBoard")


def flower_child(log_dir: Path) -> Child:
    """Flower on FLOWER_PORT (loopback), served to staff by the admin's proxy under
    its --url_prefix; read-only (jobs/admin/flower.py says why)."""
    argv = [
        *_tool("celery", "celery"),
        "--app=summarizer_project",
        "flower",
        f"--address={HOST}",
        f"--port={settings.FLOWER_PORT}",
        f"--url_prefix={settings.FLOWER_URL_PREFIX}",
        "--read_only",
        "--inspect_timeout=2000",
    ]
    return Child("flower", argv, log_dir / "flower.log", "Flower")


def service_children(opts: dict[str, Any], log_dir: Path) -> list[Child]:
    """Workers, beat, web, (unless --no-tensorboard) TensorBoard and (unless
    --no-flower) Flower, in start order."""
    children = [*_celery_children(opts, log_dir), _web_child(opts, log_dir)]
    if not opts["no_tensorboard"]:
        children.append(_tensorboard_child(opts, log_dir))
    if not opts.get("no_flower", True):
        children.append(flower_child(log_dir))
    return children


def child_env(tensorboard_port: int | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "PYTHONUNBUFFERED": "1",
    }
    if tensorboard_port:
        # The admin proxies staff to this TensorBoard (/admin/jobs/trainingrun/tensorboard/);
        # API links to training runs point at it directly (it listens on loopback only).
        env.setdefault("TENSORBOARD_INTERNAL_URL", f"http://{HOST}:{tensorboard_port}")
    return env
