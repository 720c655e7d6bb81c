"""The web process never imports torch: serving the API and the admin and checking
a staff member's training params need only the torch-free ml configs."""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import ROOT, clean_env

WEB_PROCESS = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
import summarizer_project.urls
get_resolver().url_patterns  # the admin and the API, with every module they import
from jobs.services.errors import InvalidInput
from jobs.services.training import validate_params
validate_params("bertsumext", {"lr": 1e-4, "model": {"sentence_pooling": "cls"}})
validate_params("matchsum", {"epochs": 2})
try:
    validate_params("bertsumext", {"no_such_setting": 1})
    refused = None
except InvalidInput as exc:
    refused = str(exc)
# The language check of a training run measures the encoder's tokenizer.json (issue #23).
from jobs.services.languages import encoder_coverage
from jobs.services.training import training_config
encoder, coverage = encoder_coverage(training_config("bertsumext", {}))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
print(json.dumps({"heavy": heavy, "refused": refused, "covered": list(coverage.covered)}))
"""


def test_web_process_never_imports_torch(tmp_path):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="summarizer_project.settings.local")
    proc = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["heavy"] == []
    assert "no_such_setting" in report["refused"]
    assert report["covered"] == ["en"]
