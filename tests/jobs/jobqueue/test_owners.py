"""Telling a dead lease owner from a live one, with real processes."""

import os
import subprocess
import sys
from pathlib import Path

from jobs.jobqueue import owners


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def test_the_owner_string_names_node_incarnation_pid_and_start_time(worker_node):
    node, incarnation = worker_node
    pid = os.getpid()
    assert owners.me() == f"{node} {incarnation} {pid} {start_time(pid)}"
    assert owners.is_dead(owners.me()) is False


def test_a_pool_process_that_exits_or_turns_zombie_is_dead(worker_node):
    node, incarnation = worker_node
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    held_by = f"{node} {incarnation} {proc.pid} {start_time(proc.pid)}"
    try:
        assert owners.is_dead(held_by) is False
        proc.kill()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # killed, not yet reaped
        assert Path(f"/proc/{proc.pid}/stat").exists()
        assert owners.is_dead(held_by) is True
    finally:
        proc.kill()
        proc.wait()
    assert owners.is_dead(held_by) is True


def test_a_reused_pid_is_not_the_old_owner(worker_node):
    node, incarnation = worker_node
    parent = os.getppid()
    assert owners.is_dead(f"{node} {incarnation} {parent} {start_time(parent)}") is False
    assert owners.is_dead(f"{node} {incarnation} {parent} 1") is True  # another start time
    assert owners.is_dead(f"{node} {incarnation} {parent}") is False  # no start time recorded


def test_an_earlier_incarnation_is_dead_and_another_node_cannot_be_judged(worker_node, dead_pid):
    node, incarnation = worker_node
    assert owners.is_dead(f"{node} earlier {os.getpid()} {start_time(os.getpid())}") is True
    assert owners.is_dead(f"{node} {incarnation} {dead_pid}") is True
    assert owners.is_dead(f"test@elsewhere {incarnation} {os.getpid()}") is None
    assert owners.is_dead("host:10:20") is None  # not an owner string
    assert owners.is_dead("") is None


def test_outside_a_worker_nobody_is_judged(monkeypatch):
    monkeypatch.setattr(owners, "_node", "")
    assert owners.me() == ""
    assert owners.is_dead(f"test@here abc {os.getpid()}") is None
