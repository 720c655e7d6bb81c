"""Every ```sh block of README.md runs as written against a live stack started the way
`make up` starts it (runstack --detach, a temp var dir, ports of its own).

The only things filled in are the ones the README says where to get: the port (BASE)
and the staff login, which `make demo` creates and keeps in var/demo-credentials.json
(created here by the same function). The blocks run in order in one bash session
state (variables and functions carry over), each with `set -euo pipefail`; curl's
--fail-with-body makes any 4xx/5xx a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PORT, TENSORBOARD_PORT = 8156, 8157
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# Blocks that run make targets (the whole stack, the whole suite), not examples against one.
MAKE_BLOCK = re.compile(r"^make (demo|test)\b", re.M)

CREDENTIALS = """
from pathlib import Path
from django.conf import settings
from devstack import demo
demo.ensure_demo_user(demo.demo_credentials(Path(settings.VAR_DIR), environ={}))
"""
# Two versions, the older active, as a stack that has finished two runs has them: the
# README's promote and roll back examples act on them. Empty checkpoint dirs: nothing
# summarizes with them after these examples.
VERSIONS = """
from pathlib import Path
from django.conf import settings
from django.utils import timezone
from jobs.models import ModelVersion
for name, active in (("v-old", True), ("v-new", False)):
    path = Path(settings.VAR_DIR) / "runs" / name
    path.mkdir(parents=True, exist_ok=True)
    ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(path), is_active=active,
                                promoted_at=timezone.now() if active else None,
                                metrics={"val_rouge": 20.0})
"""


def readme_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_the_readme_has_its_examples_and_no_placeholders():
    blocks = readme_blocks()
    examples = [b for b in blocks if not MAKE_BLOCK.search(b)]
    assert len(blocks) - len(examples) == 1  # only the `make demo` / `make test` block
    text = "\n".join(examples)
    assert '"password": "..."' not in text
    assert not re.search(r"curl -s ", text), "curl -s hides errors; use -sS --fail-with-body"
    assert not re.search(r"/(documents|summaries|training-runs|models)/\d+/", text)
    for path in re.findall(r"file=@(\S+)", text):
        assert (ROOT / path).is_file(), path


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.local",
        SUMMARIZER_VAR_DIR=str(var_dir),
        PORT=str(PORT),
        TENSORBOARD_PORT=str(TENSORBOARD_PORT),
        PYTHONUNBUFFERED="1",
    )
    for name in (
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "DJANGO_SUPERUSER_USERNAME",
        "DJANGO_SUPERUSER_PASSWORD",
    ):
        env.pop(name, None)  # the login comes from var/demo-credentials.json, as documented
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"manage.py {args[0]}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture
def stack(tmp_path):
    """`make up` on a temp var dir: runstack --detach, stopped (with its Redis) after."""
    env = _env(tmp_path / "var")
    try:
        manage(env, "runstack", "--detach", timeout=420)
        manage(env, "shell", "-c", CREDENTIALS)
        yield env
    finally:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "runstack", "--stop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )


def run_block(
    block: str, env: dict[str, str], cwd: Path, state: Path
) -> subprocess.CompletedProcess:
    """One block in bash, with the variables and functions the earlier blocks set."""
    names = sorted(set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", block, re.M)))
    script = "\n".join(
        [
            "set -euo pipefail",
            f"source {state}",
            block,
            f"{{ declare -p {' '.join(names)} 2>/dev/null || true; declare -f; }} >> {state}"
            if names
            else f"declare -f >> {state}",
        ]
    )
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.timeout(900)
def test_every_readme_shell_example_runs_against_a_live_stack(stack, tmp_path):
    # The examples name repository paths (the sample corpus, the sample file) relative
    # to the checkout; what they write (openapi.yaml) lands in a scratch copy of it.
    work = tmp_path / "checkout"
    work.mkdir()
    for name in ("devstack", "docs"):
        (work / name).symlink_to(ROOT / name)
    state = tmp_path / "state.sh"
    state.write_text("")
    ran = 0
    for block in readme_blocks():
        if MAKE_BLOCK.search(block):
            continue
        if "/api/models/" in block:
            manage(stack, "shell", "-c", VERSIONS)
        block = block.replace("BASE=http://127.0.0.1:8000", f"BASE=http://127.0.0.1:{PORT}")
        result = run_block(block, stack, work, state)
        assert result.returncode == 0, (
            f"README block {ran + 1} failed ({result.returncode}):\n{block}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
        ran += 1
    assert ran == 2
    assert (work / "openapi.yaml").read_text().startswith("openapi: 3")
