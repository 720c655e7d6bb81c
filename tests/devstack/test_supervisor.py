"""runstack's pieces that run without the whole stack: Redis as a child, --stop, --detach argv."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from devstack import background, embedded_redis, processes
from devstack.management.commands import runstack
from devstack.supervisor import Supervisor, urls_text

OPTS = {
    "demo": False,
    "port": 8123,
    "tensorboard_port": 6123,
    "no_tensorboard": False,
    "web_workers": 2,
    "web_threads": 4,
    "inference_concurrency": 1,
    "startup_timeout": 180.0,
    "demo_timeout": 300.0,
    "no_train": False,
    "grace": 5.0,
}


@pytest.fixture
def stack_dirs(settings):
    with tempfile.TemporaryDirectory(prefix="st-") as tmp:
        settings.VAR_DIR = Path(tmp)
        settings.EMBEDDED_REDIS_DIR = Path(tmp) / "redis"
        settings.CELERY_BROKER_URL = f"redis+socket://{Path(tmp) / 'redis' / 'redis.sock'}"
        settings.EMBEDDED_REDIS_URL = settings.CELERY_BROKER_URL
        yield Path(tmp)


def test_the_embedded_redis_is_the_first_child_and_stops_with_the_stack(stack_dirs, capsys):
    sup = Supervisor(runstack.Command(), OPTS)
    sup.log_dir.mkdir(parents=True)
    sup.start_redis()
    assert [c.name for c in sup.children] == ["redis"]
    assert embedded_redis.ping()
    sup.shutdown()
    assert not embedded_redis.ping()
    assert not sup.redis.alive()
    assert "ready to exit" in (stack_dirs / "log" / "redis.log").read_text()


def test_a_redis_the_stack_did_not_start_is_used_and_left_running(stack_dirs):
    with embedded_redis.running(stack_dirs / "other.log"):
        sup = Supervisor(runstack.Command(), OPTS)
        sup.log_dir.mkdir(parents=True)
        sup.start_redis()
        assert sup.children == [] and sup.redis is None
        sup.shutdown()
        assert embedded_redis.ping()


def test_stop_kills_what_a_crashed_stack_left_and_stops_the_embedded_redis(stack_dirs, capsys):
    leftover = subprocess.Popen(["sleep", "60"], process_group=0)
    dead = subprocess.Popen(["true"])
    dead.wait()
    state = {"pid": dead.pid, "port": 8123, "children": {"beat": leftover.pid}}
    (stack_dirs / processes.STATE_FILE).write_text(json.dumps(state))
    with open(stack_dirs / "redis.log", "ab") as log:
        redis = embedded_redis.start(log, "redis.log")
    call_command("runstack", "--stop")
    assert leftover.wait(timeout=10) == -signal.SIGKILL
    assert redis.wait(timeout=10) == 0
    assert not (stack_dirs / processes.STATE_FILE).exists()
    out = capsys.readouterr()
    assert "was left over; killing it" in out.err
    assert "Stopped the embedded Redis." in out.out


def test_stop_without_a_stack_says_so(stack_dirs, capsys):
    call_command("runstack", "--stop")
    assert "No stack is running" in capsys.readouterr().out


def test_detach_starts_the_same_flags_in_the_foreground():
    argv = background.foreground_argv({**OPTS, "demo": True, "no_train": True})
    assert argv[1].endswith("manage.py") and argv[2] == "runstack"
    assert "--detach" not in argv
    for flag, value in [("--port", "8123"), ("--tensorboard-port", "6123"), ("--grace", "5.0")]:
        assert argv[argv.index(flag) + 1] == value
    assert argv[-2:] == ["--demo", "--no-train"]


def test_ports_default_to_settings(settings):
    parser = runstack.Command().create_parser("manage.py", "runstack")
    opts = vars(parser.parse_args([]))
    assert (opts["port"], opts["tensorboard_port"]) == (settings.PORT, settings.TENSORBOARD_PORT)


def test_urls_text_lists_the_entry_points_and_the_login(tmp_path):
    from devstack.demo import Credentials

    text = urls_text(8123, 6123, tmp_path, Credentials("demo", "pw"))
    assert "http://127.0.0.1:8123/api/docs/" in text
    assert "http://127.0.0.1:6123/ (this machine only)" in text
    assert "username: demo  password: pw" in text
    assert "TensorBoard" not in urls_text(8123, None, tmp_path)


def test_stop_children_terminates_each_process_group(tmp_path, capsys):
    child = processes.Child("sleeper", ["sleep", "60"], tmp_path / "sleeper.log", "a sleeper")
    child.start(dict(os.environ), tmp_path)
    began = time.monotonic()
    processes.stop_children([child], 5.0, _Out(), _Out())
    assert child.process.returncode == -signal.SIGTERM
    assert time.monotonic() - began < 5
    assert "runstack: sleep 60" in (tmp_path / "sleeper.log").read_text()


class _Out:
    def write(self, text: str) -> None:
        pass
