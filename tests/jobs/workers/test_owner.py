"""Telling a dead lease holder from a live one, with real processes."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from jobs.workers import owner


def owner_of(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return f"{socket.gethostname()}:{pid}:{stat[19]}"


def test_a_running_process_is_alive_and_an_exited_one_dead():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        held_by = owner_of(proc.pid)
        assert not owner.is_dead(held_by)
    finally:
        proc.kill()
        proc.wait()
    assert owner.is_dead(held_by)


def test_a_reused_pid_is_not_the_old_owner():
    parent = os.getppid()
    assert not owner.is_dead(owner_of(parent))
    assert owner.is_dead(owner_of(parent).rsplit(":", 1)[0] + ":1")  # another start time


def test_this_process_is_an_earlier_holder_and_another_host_cannot_be_judged():
    assert owner.this_process() == owner_of(os.getpid())
    assert owner.is_dead(owner.this_process())
    assert not owner.is_dead(f"elsewhere.example:{os.getpid()}:1")
    assert not owner.is_dead("garbage")
