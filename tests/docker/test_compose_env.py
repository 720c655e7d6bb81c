"""The environment docker/compose.yaml gives its containers starts every process.

compose cannot leave a variable out, so `X: ${X:-}` hands an unset X to the
container as an empty string. Our settings read empty as "the default", but other
readers parse the environment before them: gunicorn's config module ran
int(os.environ["WEB_CONCURRENCY"]) on import and the web container restarted in a loop
(issue #24). These tests resolve compose.yaml the way compose does with none of the
optional variables set, and start the processes through docker/entrypoint.sh.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
VENV_BIN = Path(sys.executable).parent
CPU_CORES = len(os.sched_getaffinity(0))

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _interpolate(value: str, shell: dict[str, str]) -> str:
    """compose's interpolation of one value against the shell (and --env-file) variables."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if op in (":-", ":?") and not shell.get(name):
            if op == ":?":
                raise KeyError(f"{name} is required: {arg}")
            return arg
        if op in ("-", "?") and name not in shell:
            if op == "?":
                raise KeyError(f"{name} is required: {arg}")
            return arg
        return shell.get(name, "")

    return _VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def _required_variables() -> dict[str, str]:
    """The variables compose.yaml refuses to start without (`${X:?...}`), set."""
    names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", COMPOSE.read_text())
    return {name: "set-in-docker-env" for name in names}


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def compose_environment(service: str) -> dict[str, str]:
    """What compose puts in the service's environment when only the required
    variables are set (docker/env.example's first three)."""
    shell = _required_variables()
    environment = _services()[service].get("environment", {})
    return {name: _interpolate(str(value), shell) for name, value in environment.items()}


def container_environment(service: str, tmp_path: Path) -> dict[str, str]:
    """The service's compose environment plus what the image sets (docker/Dockerfile)."""
    env = compose_environment(service)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        PYTHONPATH=str(ROOT),  # the image's /app
        SUMMARIZER_VAR_DIR=str(tmp_path),
        HOME=str(tmp_path),
    )
    return env


def run_entrypoint(service: str, *command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`command` as the service's container would run it: its compose environment and
    docker/entrypoint.sh (which execs anything that is not one of its own commands)."""
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env=container_environment(service, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


APP_SERVICES = [
    name for name, svc in _services().items() if svc.get("image") == "summarizer:latest"
]


def test_compose_passes_empty_variables():
    # The condition the entrypoint must handle is real: without it this file tests nothing.
    empty = {name for name, value in compose_environment("web").items() if value == ""}
    assert "WEB_CONCURRENCY" in empty
    assert "INFERENCE_CONCURRENCY" in {
        name for name, value in compose_environment("worker-inference").items() if value == ""
    }
    assert set(APP_SERVICES) >= {"web", "worker-inference", "worker-training", "beat", "flower"}


def test_gunicorn_without_the_entrypoint_fails_on_an_empty_variable():
    """What the web container did before the fix: gunicorn's own config module parses
    WEB_CONCURRENCY on import."""
    env = {**os.environ, "WEB_CONCURRENCY": ""}
    result = subprocess.run(
        [sys.executable, "-c", "import gunicorn.config"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "invalid literal for int() with base 10: ''" in result.stderr


def test_web_gunicorn_loads_its_config_with_composes_environment(tmp_path):
    # The web command's gunicorn with its config module and the WSGI app
    # (--print-config implies --check-config: it loads both and exits).
    result = run_entrypoint(
        "web",
        "gunicorn",
        "summarizer_project.wsgi:application",
        "--config",
        "python:summarizer_project.gunicorn_config",
        "--print-config",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    config = {
        key.strip(): value.strip()
        for key, _, value in (line.partition(" = ") for line in result.stdout.splitlines())
    }
    # The defaults of settings/base.py, as if the variables were never set.
    assert config["workers"] == str(CPU_CORES)
    assert config["threads"] == "8"
    assert config["worker_class"] == "gthread"


@pytest.mark.parametrize("service", ["worker-inference", "worker-training", "beat", "flower"])
def test_every_app_service_reads_its_settings_with_composes_environment(service, tmp_path):
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.INFERENCE_CONCURRENCY, s.INFERENCE_TORCH_THREADS, s.INFERENCE_PRECISION, "
        "s.WEB_CONCURRENCY, s.WEB_THREADS, repr(s.BERTSUMEXT_CHECKPOINT), s.CSRF_TRUSTED_ORIGINS, "
        "s.INFERENCE_PRELOAD, s.ABSTRACTIVE_GENERATION, repr(s.ABSTRACTIVE_MODEL))"
    )
    result = run_entrypoint(service, "python", "-c", probe, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(CPU_CORES),
        "1",
        "auto",
        str(CPU_CORES),
        "8",
        "''",
        "[]",
        "True",
        "{}",
        "''",
    ]


def test_the_entrypoint_unsets_only_empty_variables(tmp_path):
    result = run_entrypoint("web", "env", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    compose = compose_environment("web")
    assert {name for name, value in compose.items() if value} <= set(seen)
    assert not {name for name, value in compose.items() if not value} & set(seen)
    assert seen["THROTTLE_UPLOADS"] == "600/hour"


def test_the_worker_healthcheck_asks_the_broker_with_composes_environment(tmp_path, settings):
    """healthcheck.py is exec'd into the container, not run through the entrypoint, so
    it gets compose's empty variables as they are (ABSTRACTIVE_GENERATION='' is no JSON)."""
    env = container_environment("worker-inference", tmp_path)
    assert env["ABSTRACTIVE_GENERATION"] == ""
    env["REDIS_URL"] = settings.CELERY_BROKER_URL
    result = subprocess.run(
        [sys.executable, "docker/healthcheck.py", "worker", "nobody"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Unhealthy (no such worker answers the ping), having asked: the replies, no error.
    assert result.returncode == 1
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_flower_command_serves(tmp_path, settings):
    """The entrypoint's own `flower` command, as the flower container runs it, answers
    under its URL prefix (it once passed `--address 0.0.0.0`: Flower drops an option's
    separate value, and the container restarted in a loop)."""
    port = _free_port()
    env = container_environment("flower", tmp_path)
    env.update(REDIS_URL=settings.CELERY_BROKER_URL, FLOWER_PORT=str(port))
    log = tmp_path / "flower.log"
    with log.open("w") as out:
        flower = subprocess.Popen(
            ["sh", str(ENTRYPOINT), "flower"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/admin/flower/healthcheck"
    deadline = time.monotonic() + 90
    try:
        while True:
            assert flower.poll() is None, f"flower exited {flower.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    assert response.read() == b"OK"
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, f"no answer at {url}:\n{log.read_text()}"
                time.sleep(0.5)
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        try:
            flower.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(flower.pid, signal.SIGKILL)
            flower.wait()
