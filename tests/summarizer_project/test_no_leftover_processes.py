"""No manage.py command leaves a process behind (before: every one left a redis-server).

Each command runs with REDIS_URL unset and a fresh var dir, as a child of
tests/summarizer_project/reaper.py, which is a child subreaper: whatever a
command leaves running is reparented to it and reported.
"""

from __future__ import annotations

import json
import sys

import pytest

from .helpers import clean_env, manage, redis_servers_under, run_reaped

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and prctl")

DOCUMENT = (
    "The council approved the new bridge on Monday. Construction starts in May. "
    "It will cost four million euros. Residents asked for a cycle lane. "
    "The council agreed to add one."
)


def test_manage_py_commands_leave_no_process_behind(tmp_path):
    var_dir = tmp_path / "var"
    (tmp_path / "doc.txt").write_text(DOCUMENT, encoding="utf-8")
    record = {"id": "a", "article": DOCUMENT, "highlights": "The council approved the bridge."}
    (tmp_path / "tiny.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    env = clean_env(var_dir, DJANGO_SUPERUSER_PASSWORD="pass-word-123")
    commands = [
        manage("check"),
        manage("migrate", "--noinput", "--verbosity", "0"),
        manage("showmigrations", "jobs"),
        manage("summarize", str(tmp_path / "doc.txt"), "--model", "lead3"),
        manage("createsuperuser", "--noinput", "--username", "ops", "--email", "ops@x.org"),
        manage("import_dataset", str(tmp_path / "tiny.jsonl"), "--split", "validation"),
    ]
    reports = run_reaped(commands, env)
    assert len(reports) == len(commands)
    for report in reports:
        name = report["argv"][2]
        assert report["returncode"] == 0, (name, report["stderr"])
        assert report["leftovers"] == [], name
    # migrate made var/ for its SQLite file (summarizer_project.sqlite3); nothing made
    # var/redis: no command started or even prepared an embedded Redis.
    assert (var_dir / "summarizer.sqlite3").is_file()
    assert not (var_dir / "redis").exists()
    assert "model: lead3" in reports[3]["stdout"]
    assert "imported 1 documents" in reports[5]["stdout"]
    assert redis_servers_under(tmp_path) == []


def test_check_creates_no_var_dir(tmp_path):
    (report,) = run_reaped([manage("check")], clean_env(tmp_path / "var"))
    assert report["returncode"] == 0, report["stderr"]
    assert not (tmp_path / "var").exists()
