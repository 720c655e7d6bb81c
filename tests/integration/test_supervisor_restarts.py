"""`runstack` restarts a child that dies, and /healthz names it missing meanwhile.

A real stack (`manage.py runstack --detach`, as `make up` starts it: SQLite and
the embedded Redis in a fresh var dir, free ports); each child's whole process
group is SIGKILLed in turn. RELIABILITY.md ("Supervisor") reports what it prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.summarizer_project.helpers import manage, redis_servers_under

from .stack import Prober, Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="uses process groups and /proc"),
]

COMPONENT = {"worker-inference": "inference", "worker-training": "training", "beat": "beat"}


def _ok(component: str):
    return lambda status, body: isinstance(body, dict) and body.get(component) == "ok"


@pytest.fixture
def stack():
    s = Stack(RUNSTACK_RESTART_DELAY="1", HEALTHZ_CACHE_SECONDS="0.5")
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def _kill_and_recover(stack: Stack, child: str, timeout: float = 90) -> float:
    """Kill ``child``; seconds until /healthz reports its component ok again."""
    old = stack.kill(child)
    began = time.monotonic()
    component = COMPONENT.get(child, "broker")
    stack.wait_for(
        lambda status, body: stack.pid(child) != old and _ok(component)(status, body),
        timeout,
        f"{child} restarted and {component} ok",
    )
    seconds = time.monotonic() - began
    assert f"runstack: {child} (pid {old}) was killed by signal SIGKILL" in stack.runstack_log()
    print(f"{child}: back after {seconds:.1f}s")
    return seconds


def test_a_killed_inference_worker_is_reported_missing_then_restarted(stack):
    status, body = stack.health()
    assert status == 200 and body["missing"] == [], body
    old = stack.pid("worker-inference")
    began = time.monotonic()
    web = stack.pid("web")
    with Prober(stack) as prober:
        stack.kill("worker-inference")
        status, body = stack.wait_for(
            lambda status, body: status == 503, 30, "/healthz 503 after the kill"
        )
        assert body["inference"].startswith("missing:") and body["missing"] == ["inference"]
        assert (body["database"], body["broker"], body["training"]) == ("ok", "ok", "ok")
        stack.wait_for(lambda status, body: status == 200, 90, "/healthz 200 after the restart")
    print(f"worker-inference: back after {time.monotonic() - began:.1f}s")
    # web answered throughout (each probe waits ~1 s for the workers' replies)
    assert prober.unanswered == 0 and prober.answered >= 3
    assert stack.pid("web") == web  # untouched
    new = stack.pid("worker-inference")
    assert new != old
    log = stack.runstack_log()
    assert f"runstack: worker-inference (pid {old}) was killed by signal SIGKILL" in log
    assert f"runstack: restarted worker-inference, pid {new} (restart 1)" in log
    assert stack.state()["restarts"]["worker-inference"] == 1


def test_every_child_comes_back_and_stop_still_stops_everything(stack):
    with Prober(stack) as prober:
        for child in ("worker-training", "beat", "redis"):
            _kill_and_recover(stack, child)
        # The workers reconnect to the restarted Redis by themselves.
        stack.wait_for(
            lambda status, body: status == 200 and body["missing"] == [], 60, "all ok again"
        )
    assert prober.unanswered == 0  # web answered while each of the others was down
    old_web = stack.kill("web")
    began = time.monotonic()
    stack.wait_for(lambda status, body: status == 200, 60, "web restarted")
    print(f"web: answering again after {time.monotonic() - began:.1f}s")
    assert stack.pid("web") != old_web
    pids = stack.state()["children"].values()
    out = stack.stop()
    assert "Stack stopped." in out, out
    for pid in pids:  # every (re)started child's group is gone
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)


def _crash_loop(stack: Stack, child: str, delays: list[float]) -> None:
    """Kill ``child`` again as soon as each new one appears: the restarts back off."""
    for n, delay in enumerate(delays, start=2):
        old = stack.kill(child)
        killed = time.monotonic()
        while stack.pid(child) == old:
            if time.monotonic() - killed > delay + 5:
                raise AssertionError(
                    f"{child} not restarted within {delay + 5}s of death {n}\n"
                    f"{stack.runstack_log()[-3000:]}\n{stack.logs()}"
                )
            time.sleep(0.05)
        waited = time.monotonic() - killed
        assert delay <= waited < delay + 5, (n, delay, waited)
        assert f"restarting it in {delay:.1f}s (death {n} in a row)" in stack.runstack_log()


def test_ctrl_c_stops_restarted_children_too():
    """The foreground stack (`make demo` without --demo): SIGINT, as Ctrl-C sends it,
    after a restart, leaves no child group and no embedded Redis behind."""
    s = Stack(RUNSTACK_RESTART_DELAY="1", RUNSTACK_RESTART_MAX_DELAY="4")
    argv = manage("runstack", "--no-tensorboard")
    s.output = s.var_dir / "foreground.log"
    with open(s.output, "wb") as out:
        proc = subprocess.Popen(argv, env=s.env, stdout=out, stderr=subprocess.STDOUT)
    try:
        s.wait_for(lambda status, body: status == 200 and s.state()["ready"], 180, "ready")
        old = s.kill("beat")
        s.wait_for(lambda status, body: s.pid("beat") != old and body["beat"] == "ok", 60, "beat")
        _crash_loop(s, "beat", [2.0, 4.0, 4.0])  # deaths 2-4 in a row: doubled, then capped
        groups = list(s.state()["children"].values())
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=90)
        text = s.runstack_log()
        assert proc.returncode == 0, text
        assert "Received SIGINT; stopping." in text and "Stopped the embedded Redis." in text
        assert f"runstack: beat (pid {old}) was killed by signal SIGKILL" in text
        for pgid in groups:
            with pytest.raises(ProcessLookupError):
                os.killpg(pgid, 0)
        assert redis_servers_under(s.var_dir) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        s.cleanup()
