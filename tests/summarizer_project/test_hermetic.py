"""The suite's settings come from the tests alone: a developer's .env or shell
variables do not change BERTSUMEXT_CHECKPOINT or the training defaults."""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import ROOT, clean_env

SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.BERTSUMEXT_CHECKPOINT, s.TRAINING_DEFAULTS, "
    "s.SCHEDULED_TRAINING_PARAMS]))"
)


def settings_seen(tmp_path, module: str, **extra: str) -> list:
    dotenv = tmp_path / "developer.env"
    dotenv.write_text('BERTSUMEXT_CHECKPOINT=/from/dotenv\nTRAINING_DEFAULTS={"lr": 0.5}\n')
    env = clean_env(
        tmp_path / "var",
        DJANGO_SETTINGS_MODULE=f"summarizer_project.settings.{module}",
        SUMMARIZER_DOTENV=str(dotenv),
        SCHEDULED_TRAINING_PARAMS='{"max_steps": 9}',
        **extra,
    )
    proc = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_developers_dotenv_and_shell_do_not_reach_the_test_settings(tmp_path):
    # The same files and variables do reach the local settings...
    assert settings_seen(tmp_path, "local") == ["/from/dotenv", {"lr": 0.5}, {"max_steps": 9}]
    # ... and not the suite's.
    assert settings_seen(tmp_path, "test") == ["", {}, {}]


def test_a_tests_own_worker_gets_what_the_test_passes(tmp_path):
    seen = settings_seen(
        tmp_path, "test", SUMMARIZER_TEST_CHILD="1", TRAINING_DEFAULTS='{"batch_size": 7}'
    )
    assert seen == ["", {"batch_size": 7}, {"max_steps": 9}]
