"""The beat admin's "Task (registered)" dropdown lists the project's tasks in a web
process (the tasks module is imported there by Celery's autodiscovery), and listing
them imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.summarizer_project.helpers import ROOT, clean_env

WEB = """
import json, sys, threading
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
from django_celery_beat.admin import PeriodicTaskForm
found = {}
def render():  # a request thread, as gunicorn's or runserver's
    form = PeriodicTaskForm()
    found["choices"] = [value for value, _ in form.fields["regtask"].widget.choices if value]
thread = threading.Thread(target=render)
thread.start()
thread.join()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
print(json.dumps({"choices": found["choices"], "heavy": heavy}))
"""


def test_registered_tasks_are_listed_without_importing_torch(tmp_path):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="summarizer_project.settings.local")
    proc = subprocess.run(
        [sys.executable, "-c", WEB], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["choices"] == [
        "jobs.reap_stale_jobs",
        "jobs.retrain_if_new_data",
        "jobs.summarize",
        "jobs.train",
    ]
    assert report["heavy"] == []
