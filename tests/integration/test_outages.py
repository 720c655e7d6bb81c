"""Outages as deployed (issue #24): PostgreSQL stopped for 30 s, Redis restarted (AOF
on, as compose runs it) and Redis lost entirely, each while a batch of summaries is
queued and clients keep submitting, through real servers and the app's own processes
(tests/integration/deployed.py: a private PostgreSQL and redis-server on free ports,
gunicorn, beat and the inference worker with runstack's command lines).

Each checks what a client and an operator see: every answer is a 201 or a 503 in the
API's error shape (never HTML, never a hang past the connect timeouts), /healthz
names the component that is down, web, beat and the worker recover without being
restarted, every summary submitted before the outage and every one a client got a
201 for finishes, each exactly once (one "summary N succeeded" line in the worker's
log). The figures printed here are in RELIABILITY.md ("Outages").
"""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.factories import ARTICLE

from .deployed import App, PrivatePostgres, PrivateRedis, call, require_servers, wait_until

pytestmark = pytest.mark.integration

N_QUEUED = 100
OUTAGE_S = 30
CONNECT_TIMEOUT = 5  # DATABASE_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT, set below
FAST_RECOVERY = {
    "DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
    "REDIS_SOCKET_TIMEOUT": str(CONNECT_TIMEOUT),
    "OUTAGE_RETRY_AFTER": "2",
    "REAPER_INTERVAL_SECONDS": "2",
    "QUEUED_REENQUEUE_AFTER": "15",
    "SUMMARY_STALE_AFTER": "12",
    "SUMMARY_SOFT_TIME_LIMIT": "8",
    "SUMMARY_TIME_LIMIT": "10",
    "HEALTHZ_CACHE_SECONDS": "0.5",
    "BEAT_HEARTBEAT_TTL": "10",
    "THROTTLE_UPLOADS": "100000/hour",
    "INFERENCE_BATCH_SIZE": "4",
}


class Deployment:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.postgres = PrivatePostgres(tmp)
        self.redis = PrivateRedis(tmp)
        self.app = App(tmp, self.postgres.url, self.redis.url, **FAST_RECOVERY)

    def logs(self) -> str:
        return self.app.logs()

    def start(self) -> None:
        self.postgres.create()
        self.redis.start()
        self.app.migrate_and_create_user()
        self.app.start("worker-inference", "beat", "web")
        wait_until(
            lambda: self.health()[1].get("status") == "ok" and self.health()[1]["beat"] == "ok",
            120,
            "the stack healthy (worker and beat answering)",
            self.logs,
        )
        self.token = self.app.token()

    def cleanup(self) -> None:
        self.app.cleanup()
        self.redis.cleanup()
        self.postgres.cleanup()

    def health(self) -> tuple[int, dict]:
        status, body, _ = call(f"{self.app.base}/healthz", timeout=20)
        return status, body if isinstance(body, dict) else {}

    def submit_batch(self, n: int) -> list[int]:
        batch = [{"text": f"{ARTICLE} Item {i}.", "model": "textrank"} for i in range(n)]
        status, body, _ = call(f"{self.app.base}/api/documents/batch/", batch, self.token)
        assert status == 201, (status, body)
        assert isinstance(body, list)
        return [d["summary"]["id"] for d in body]

    def statuses(self, ids: list[int]) -> dict[int, str]:
        rows = self.postgres.query("SELECT id, status FROM jobs_summary WHERE id = ANY(%s)", ids)
        return dict(rows)

    def succeeded_lines(self) -> Counter[int]:
        log = self.app.log("worker-inference").read_text(errors="replace")
        return Counter(int(m) for m in re.findall(r"summary (\d+) succeeded", log))

    def wait_all_done(self, ids: list[int], timeout: float) -> float:
        began = time.monotonic()

        def done() -> bool:
            try:
                rows = self.statuses(ids)
            except Exception:  # the database itself may still be coming back
                return False
            return len(rows) == len(ids) and all(s == "succeeded" for s in rows.values())

        wait_until(done, timeout, f"all {len(ids)} summaries succeeded", self.logs, interval=0.5)
        return time.monotonic() - began


class Clients:
    """Threads that keep posting one document each, recording every answer."""

    def __init__(self, d: Deployment, n: int = 4):
        self.d = d
        self.answers: list[tuple[float, int, object, dict, float]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]
        self.lock = threading.Lock()

    def __enter__(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def _run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            body = {"text": ARTICLE, "model": "textrank"}
            status, answer, headers = call(
                f"{self.d.app.base}/api/documents/", body, self.d.token, timeout=60
            )
            with self.lock:
                self.answers.append((began, status, answer, headers, time.monotonic() - began))
            self.stop.wait(0.3)

    def stored_summary_ids(self) -> list[int]:
        return [a["summary"]["id"] for _, status, a, _, _ in self.answers if status == 201]  # type: ignore[index]

    def check(self, service: str) -> dict:
        """Every answer a 201 or a 503 naming `service` in the error shape, in time."""
        counts = Counter(status for _, status, _, _, _ in self.answers)
        assert set(counts) <= {201, 503}, (
            counts,
            [a for a in self.answers if a[1] not in (201, 503)][:3],
        )
        slowest = max(elapsed for *_, elapsed in self.answers)
        for _, status, answer, headers, _ in self.answers:
            if status == 503:
                assert answer == {
                    "detail": f"the {service} is unavailable; try again shortly",
                    "errors": {},
                }, answer
                assert headers.get("Content-Type", "").startswith("application/json")
                assert int(headers["Retry-After"]) > 0
        # Each attempt to reach the server is bounded by the connect timeout; a request
        # makes a few (authentication, the view, the retry of a broker send).
        assert slowest < 4 * CONNECT_TIMEOUT, slowest
        return {"answers": dict(counts), "slowest_s": round(slowest, 2)}


@pytest.fixture
def deployment():
    require_servers()
    tmp = Path(tempfile.mkdtemp(prefix="outage-"))
    tmp.chmod(0o755)  # postgres (another user) reads its data directory under it
    d = Deployment(tmp)
    try:
        d.start()
        yield d
    finally:
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def _check_exactly_once(d: Deployment, ids: list[int]) -> None:
    lines = d.succeeded_lines()
    missing = [i for i in ids if lines[i] == 0]
    twice = [i for i in ids if lines[i] > 1]
    assert not missing and not twice, (missing, twice, d.logs())


def _check_processes_alive(d: Deployment) -> None:
    assert all(d.app.alive().values()), (d.app.alive(), d.logs())


def _outage(d: Deployment, service: str, take_down, bring_back, down_for: float) -> str:
    """Submit N_QUEUED summaries, take `service` down while clients post, bring it back
    after `down_for` s; check everything the module docstring says; the figures."""
    before = d.submit_batch(N_QUEUED)
    with Clients(d) as clients:
        done_at_stop = sum(s == "succeeded" for s in d.statuses(before).values())
        take_down()
        stopped = time.monotonic()
        status, report = wait_until(
            lambda: (lambda h: h if h[1].get(service, "").startswith("down") else None)(d.health()),
            30,
            f"/healthz says the {service} is down",
            d.logs,
        )
        assert status == 503 and report["status"] == "unhealthy", report
        time.sleep(max(0.0, down_for - (time.monotonic() - stopped)))  # the outage itself
        bring_back()
        restarted = time.monotonic()
        wait_until(lambda: d.health()[1].get(service) == "ok", 60, f"{service} ok", d.logs)
        healthy_after = time.monotonic() - restarted
        time.sleep(3)  # clients post to the recovered stack too
    stored = clients.stored_summary_ids()
    d.wait_all_done(before + stored, 240)
    all_done_after = time.monotonic() - restarted
    figures = clients.check(service)
    wait_until(lambda: d.health()[1].get("beat") == "ok", 60, "beat ticking", d.logs)
    _check_processes_alive(d)
    _check_exactly_once(d, before + stored)
    return (
        f"{N_QUEUED} summaries submitted, {N_QUEUED - done_at_stop} not yet done when the "
        f"{service} went down; clients {figures}; /healthz {service} ok "
        f"{healthy_after:.1f}s after it was back; all {len(before) + len(stored)} "
        f"summaries succeeded {all_done_after:.1f}s after it was back; 0 lost, 0 run twice"
    )


def test_postgres_stopped_for_30s(deployment):
    d = deployment
    figures = _outage(d, "database", d.postgres.stop, d.postgres.start, OUTAGE_S)
    print(f"PostgreSQL stopped for {OUTAGE_S}s: {figures}")


def test_redis_restarted_with_its_data(deployment):
    """A restart as compose's `restart` does it: SIGTERM (the AOF written), start again
    on the same directory; down for 10 s."""
    d = deployment
    figures = _outage(d, "broker", d.redis.stop, d.redis.start, 10)
    print(f"Redis restarted (AOF): {figures}")


def test_redis_lost_entirely(deployment):
    """Redis killed and started on an empty directory: every queued message is gone;
    the reaper sends QUEUED summaries again after QUEUED_REENQUEUE_AFTER."""
    d = deployment

    def lose() -> None:
        d.redis.stop(signal.SIGKILL)
        d.redis.wipe()

    figures = _outage(d, "broker", lose, d.redis.start, 5)
    print(f"Redis lost (killed, empty): {figures}")
