"""Management commands: results on good input, clear CommandError on bad input."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Document
from tests.factories import ARTICLE

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_summarize_prints_selected_sentences(tmp_path):
    path = tmp_path / "fest.txt"
    path.write_text(ARTICLE)
    out, err = StringIO(), StringIO()
    call_command("summarize", str(path), "--max-sentences", "2", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert lines[0] == "model: default (builtin)"
    assert len(lines) == 3 and all(line.startswith("[") for line in lines[1:])
    assert "used the zero-label default" in err.getvalue()


@pytest.mark.django_db
def test_summarize_json_with_textrank(tmp_path):
    path = tmp_path / "fest.html"
    path.write_text(f"<p>{ARTICLE}</p>")
    out = StringIO()
    call_command("summarize", str(path), "--model", "textrank", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["model"] == "textrank"
    assert len(data["sentences"]) == 5
    assert sum(s["selected"] for s in data["sentences"]) == 3


@pytest.mark.django_db
def test_summarize_json_is_the_apis_summary_shape(tmp_path, user):
    """The same keys, notes as one string, scores rounded as the API gives them."""
    from jobs.api.serializers import SummarySerializer
    from jobs.services.documents import DocumentInput, submit_document
    from jobs.workers.summarize import run as run_summary

    path = tmp_path / "fest.txt"
    path.write_text(ARTICLE)
    out, err = StringIO(), StringIO()
    call_command("summarize", str(path), "--model", "lead3", "--json", stdout=out, stderr=err)
    data = json.loads(out.getvalue())
    assert err.getvalue().startswith("loading model lead3 (builtin) …")
    summary = submit_document(user, DocumentInput(text=ARTICLE, model="lead3")).summary
    run_summary(summary.pk)
    summary.refresh_from_db()
    api = SummarySerializer(summary).data
    assert list(data) == list(api)
    for key in ("model", "model_version", "status", "summary", "notes", "sentences"):
        assert data[key] == json.loads(json.dumps(api[key])), key
    assert isinstance(data["notes"], str)
    assert data["id"] is None and data["document"] is None


@pytest.mark.django_db
def test_summarize_says_loading_before_the_model_loads(tmp_path, monkeypatch):
    from jobs import engines

    path = tmp_path / "fest.txt"
    path.write_text(ARTICLE)
    err = StringIO()
    seen = []
    real = engines.get_system
    # Record what stderr held when the load started: the message came first.
    monkeypatch.setattr(engines, "get_system", lambda r: seen.append(err.getvalue()) or real(r))
    call_command("summarize", str(path), stdout=StringIO(), stderr=err)
    assert seen and "loading model default (builtin) …" in seen[0]


@pytest.mark.parametrize(
    ("name", "content", "args", "needle"),
    [
        ("missing.txt", None, [], "no such file"),
        ("folder", "dir", [], "folder is a directory: give one file"),
        ("doc.pdf", "x", [], "unsupported file type"),
        ("empty.txt", "  ", [], "text is empty"),
        ("doc.txt", ARTICLE, ["--max-sentences", "0"], "max_sentences"),
    ],
)
@pytest.mark.django_db
def test_summarize_bad_input(tmp_path, name, content, args, needle):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match=needle):
        call_command("summarize", str(path), *args)


@pytest.mark.django_db
def test_import_dataset_jsonl(tmp_path, staff):
    path = tmp_path / "data.jsonl"
    rows = [
        {"id": "a", "article": ARTICLE, "highlights": "Boats.\nChoir."},
        {"text": ARTICLE + " Extra.", "reference_summary": "Fireworks."},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    out = StringIO()
    call_command("import_dataset", str(path), "--split", "validation", stdout=out)
    assert "imported 2 documents into split 'validation'" in out.getvalue()
    doc = Document.objects.get(source_id="a")
    assert (doc.owner, doc.split, doc.reference_summary) == (staff, "validation", "Boats.\nChoir.")
    out = StringIO()
    call_command("import_dataset", str(path), "--split", "validation", stdout=out)
    assert "imported 0 documents" in out.getvalue() and "2 skipped" in out.getvalue()


@pytest.mark.django_db
def test_import_dataset_bad_input(tmp_path, staff):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"article": "fine text."}\n{oops\n')
    with pytest.raises(CommandError, match="line 2"):
        call_command("import_dataset", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_dataset", str(tmp_path / "nope.jsonl"))
    with pytest.raises(CommandError, match="no user named"):
        call_command("import_dataset", str(bad), "--owner", "ghost")
    assert not Document.objects.exists()


def test_production_settings_refuse_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DJANGO_SETTINGS_MODULE"] = "summarizer_project.settings.production"
    env["ALLOWED_HOSTS"] = "summarizer.example.org"
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_production_settings_pass_check_deploy():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "summarizer_project.settings.production",
        "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "summarizer.example.org",
        "SECURE_HSTS_PRELOAD": "true",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_check_refuses_a_time_limit_above_the_visibility_timeout():
    env = {
        **os.environ,
        "SUMMARIZER_TEST_CHILD": "1",  # keeps the variables below (settings/hermetic.py)
        "CELERY_VISIBILITY_TIMEOUT": "600",
        "TRAINING_TIME_LIMIT": "900",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "TRAINING_TIME_LIMIT (900s) must be below CELERY_VISIBILITY_TIMEOUT (600s)" in (
        proc.stderr
    )
