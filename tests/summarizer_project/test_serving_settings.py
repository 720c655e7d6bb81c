"""Processes and threads are sized to the cores this process may use, settable through
the environment; an empty value (compose's `${X:-}`) means the default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import ROOT, clean_env

SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.CPU_CORES, s.INFERENCE_CONCURRENCY, s.INFERENCE_TORCH_THREADS, "
    "s.INFERENCE_PRELOAD, s.WEB_CONCURRENCY, s.WEB_THREADS, s.CELERY_WORKER_CONCURRENCY)"
)


def show(tmp_path, cores: int | None = None, **env: str) -> list[str]:
    argv = [sys.executable, "-c", SHOW]
    if cores is not None:  # the cores this process may run on, as in a container
        argv = ["taskset", "-c", ",".join(map(str, range(cores))), *argv]
    proc = subprocess.run(
        argv,
        cwd=ROOT,
        env=clean_env(tmp_path, DJANGO_SETTINGS_MODULE="summarizer_project.settings.local", **env),
        capture_output=True,
        text=True,
    )
    return proc.stdout.split() if proc.returncode == 0 else [proc.stderr]


@pytest.mark.skipif(sys.platform != "linux", reason="taskset, sched_getaffinity")
def test_cpu_defaults_are_one_process_per_core_with_one_thread(tmp_path):
    assert show(tmp_path, cores=1) == ["1", "1", "1", "True", "1", "8", "1"]
    if len(os.sched_getaffinity(0)) >= 2:
        assert show(tmp_path, cores=2) == ["2", "2", "1", "True", "2", "8", "2"]


def test_cuda_defaults_to_one_process_without_preloading(tmp_path):
    cores, processes, threads, preload, *_ = show(tmp_path, INFERENCE_DEVICE="cuda")
    assert (processes, threads, preload) == ("1", cores, "False")


def test_the_environment_overrides_and_empty_means_the_default(tmp_path):
    values = show(
        tmp_path,
        INFERENCE_CONCURRENCY="3",
        INFERENCE_TORCH_THREADS="",
        WEB_CONCURRENCY="5",
        WEB_THREADS="2",
        INFERENCE_PRELOAD="false",
    )
    cores = int(values[0])
    assert values[1:] == ["3", str(max(1, cores // 3)), "False", "5", "2", "3"]


def test_a_count_below_one_is_refused_with_its_name(tmp_path):
    (error,) = show(tmp_path, WEB_THREADS="0")
    assert "WEB_THREADS must be a positive integer (got 0)" in error
