"""Every ```sh block of README.md runs as written against a live stack started the way
`make up` starts it (runstack --detach, a temp var dir, ports of its own).

The only things filled in are the ones the README says where to get: the port (BASE)
and the staff login, which `make demo` creates and keeps in var/demo-credentials.json
(created here by the same function). The blocks run in order in one bash session
state (variables and functions carry over), each with `set -euo pipefail`; curl's
--fail-with-body makes any 4xx/5xx a failure.

Exit codes are not enough: each curl call's status and body are recorded (a wrapper
that adds only -D, the headers to a file) and compared with what the README shows: the
summary polled has status succeeded and the fields of the README's example, the
refused cancel is a 409 in the error shape, /healthz has the keys of its comment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.summarizer_project.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# Blocks that run make targets (the whole stack, the whole suite), not examples against one.
MAKE_BLOCK = re.compile(r"^make (demo|test)\b", re.M)
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.S | re.M)
TEXT_BLOCK = re.compile(r"^```text\n(.*?)^```", re.S | re.M)
# Every curl of the examples goes through this: the real curl with its headers (status
# line) in $CALLS/N.headers, its arguments in N.args and its output in N.body.
RECORDING_CURL = r"""
curl() {
  local n
  n=$(( $(cat "$CALLS/count" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$CALLS/count"
  printf '%s\n' "$@" > "$CALLS/$n.args"
  command curl -D "$CALLS/$n.headers" "$@" | tee "$CALLS/$n.body"
}
"""

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


def test_every_curl_of_the_examples_fails_on_an_error_status():
    lines = [
        line
        for block in readme_blocks()
        if not MAKE_BLOCK.search(block)
        for line in block.splitlines()
        if re.search(r"(^|\| )curl ", line)
    ]
    assert len(lines) > 15
    assert [line for line in lines if "--fail-with-body" not in line] == []


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.local",
        SUMMARIZER_VAR_DIR=str(var_dir),
        PORT=str(free_port()),
        TENSORBOARD_PORT=str(free_port()),
        FLOWER_PORT=str(free_port()),
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


@dataclass
class Call:
    args: list[str]
    status: int
    body: str

    @property
    def url(self) -> str:
        return next(a for a in self.args if a.startswith("http"))

    def json(self):
        return json.loads(self.body)


def recorded_calls(calls: Path) -> list[Call]:
    found = []
    for n in range(1, int((calls / "count").read_text()) + 1):
        headers = (calls / f"{n}.headers").read_text()
        status = int(re.findall(r"^HTTP/[\d.]+ (\d{3})", headers, re.M)[-1])
        args = (calls / f"{n}.args").read_text().splitlines()
        found.append(Call(args, status, (calls / f"{n}.body").read_text()))
    return found


def readme_shows() -> dict:
    """What the README shows: the summary example's fields, the error examples'
    fields, the keys of the /healthz comment."""
    text = README.read_text(encoding="utf-8")
    summary = json.loads(JSON_BLOCK.findall(text)[0])
    # One example per line once an example's continuation lines are joined to it.
    errors = re.sub(r"\n\s+\"", ' "', TEXT_BLOCK.findall(text)[0])
    error_shapes = [
        json.loads(body) for body in re.findall(r"^\d{3} (\{.*?\})(?:   .*)?$", errors, re.M)
    ]
    healthz = re.search(r"/healthz\n((?:# .*\n)+)", text).group(1)
    health = json.loads(" ".join(line[2:] for line in healthz.splitlines()))
    return {"summary": summary, "error_shapes": error_shapes, "healthz": health}


def check_what_the_readme_shows(calls: list[Call]) -> None:
    shows = readme_shows()
    assert len(shows["error_shapes"]) >= 6
    assert {tuple(e) for e in shows["error_shapes"]} == {("detail", "errors")}
    by_path = {}
    for call in calls:
        by_path.setdefault(re.sub(r"^https?://[^/]+", "", call.url), []).append(call)

    (token,) = by_path["/api/auth/token/"]
    assert token.status == 200 and set(token.json()) == {"token"}
    created = next(c for c in by_path["/api/documents/"] if "Bakery" in " ".join(c.args))
    assert created.status == 201 and created.json()["summary"]["status"] in ("queued", "running")
    doc, summary = created.json()["id"], created.json()["summary"]["id"]

    # The poll ended on a finished summary, which succeeded and has the example's fields.
    final = by_path[f"/api/summaries/{summary}/"][-1]
    assert final.status == 200 and final.json()["status"] == "succeeded", final.body
    assert set(final.json()) == set(shows["summary"])
    assert set(final.json()["sentences"][0]) == set(shows["summary"]["sentences"][0])
    assert final.json()["summary"] and final.json()["error"] == ""

    # Cancelling the finished summary: 409 in the error shape, printed by --fail-with-body.
    (cancel,) = by_path[f"/api/summaries/{summary}/cancel/"]
    assert cancel.status == 409 and set(cancel.json()) == {"detail", "errors"}, cancel.body
    assert cancel.json()["errors"] == {}

    (again,) = by_path[f"/api/documents/{doc}/summarize/"]
    assert again.status == 202 and again.json()["status"] == "queued"
    (health,) = by_path["/healthz"]
    assert health.status == 200 and set(health.json()) == set(shows["healthz"]), health.body
    assert health.json()["status"] == "ok" and health.json()["missing"] == []
    deletes = [c for c in by_path[f"/api/documents/{doc}/"] if "DELETE" in c.args]
    assert [c.status for c in deletes] == [204]
    # Every other call succeeded (--fail-with-body also stopped the block otherwise).
    assert [c for c in calls if c.status >= 400 and c is not cancel] == []
    assert len(calls) >= 20


@pytest.mark.timeout(900)
def test_every_readme_shell_example_runs_against_a_live_stack(stack, tmp_path):
    # The examples name repository paths (the sample corpus, the sample file) relative
    # to the checkout; what they write (openapi.yaml) lands in a scratch copy of it.
    work = tmp_path / "checkout"
    work.mkdir()
    for name in ("devstack", "docs"):
        (work / name).symlink_to(ROOT / name)
    state = tmp_path / "state.sh"
    calls = tmp_path / "calls"
    calls.mkdir()
    state.write_text(f"CALLS={calls}\n{RECORDING_CURL}")
    port = stack["PORT"]
    ran = 0
    for block in readme_blocks():
        if MAKE_BLOCK.search(block):
            continue
        if "/api/models/" in block:
            manage(stack, "shell", "-c", VERSIONS)
        block = block.replace("BASE=http://127.0.0.1:8000", f"BASE=http://127.0.0.1:{port}")
        result = run_block(block, stack, work, state)
        assert result.returncode == 0, (
            f"README block {ran + 1} failed ({result.returncode}):\n{block}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
        ran += 1
    assert ran == 2
    assert (work / "openapi.yaml").read_text().startswith("openapi: 3")
    check_what_the_readme_shows(recorded_calls(calls))
