"""The throttles' counting (jobs.api.throttles): atomic under threads on Redis (the
production cache) and in memory, the previous window weighted, refused requests not
counted, Retry-After when one more would pass. Through real gunicorn processes:
tests/integration/test_throttle_concurrency.py."""

import os
import threading
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import override_settings

from jobs.api import throttles
from jobs.api.throttles import UploadThrottle, Window


def request_of(user_pk: int):
    return SimpleNamespace(user=SimpleNamespace(pk=user_pk, is_authenticated=True), META={})


def redis_cache():
    """Production's cache (base settings) on the test Redis, under this run's own prefix
    (never cleared: clear() would flush the whole database)."""
    from summarizer_project.settings import base

    config = {
        **base.CACHES["default"],
        "KEY_PREFIX": f"throttle-test-{os.getpid()}-{time.time_ns()}",
    }
    return override_settings(CACHES={"default": config})


@pytest.mark.parametrize("backend", ["redis", "locmem"])
def test_concurrent_requests_get_exactly_the_limit(settings, backend):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "uploads": "60/hour"}
    context = redis_cache() if backend == "redis" else override_settings()
    with context:
        if backend == "locmem":
            cache.clear()
        allowed: list[bool] = []
        lock = threading.Lock()
        start = threading.Barrier(20)

        def client() -> None:
            start.wait(timeout=30)
            for _ in range(10):
                ok = UploadThrottle().allow_request(request_of(7), None)
                with lock:
                    allowed.append(ok)

        threads = [threading.Thread(target=client) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(allowed) == 200 and sum(allowed) == 60
        # another user has a count of their own
        assert UploadThrottle().allow_request(request_of(8), None)
        if backend == "locmem":
            cache.clear()


def test_the_previous_window_weighs_what_is_left_of_it(settings, monkeypatch):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "uploads": "10/min"}
    cache.clear()
    now = [6000.0]  # a window start (100 minutes)
    monkeypatch.setattr(UploadThrottle, "timer", lambda self: now[0])
    for _ in range(10):
        assert UploadThrottle().allow_request(request_of(1), None)
    refused = UploadThrottle()
    assert not refused.allow_request(request_of(1), None)
    # in the next window the 10 weigh 10 * (1 - elapsed/60): at 30 s, 5 more pass
    # the rest of this window, then until the 10 weigh 9 or less: 6 s into the next
    assert refused.wait() == 66
    now[0] = 6090.0
    passed = sum(UploadThrottle().allow_request(request_of(1), None) for _ in range(10))
    assert passed == 5
    cache.clear()


def test_retry_after_is_when_one_more_would_pass():
    window = Window.at(60, 6030.0)
    cache.clear()
    throttles.increment("k", Window.at(60, 5990.0), 10)  # the previous window: 10
    throttles.increment("k", window, 5)  # this one, 30 s in: 5; estimate 5 + 5 = 10
    assert throttles.estimate("k", window) == 10
    # one more passes when 10 * (1 - (30 + t) / 60) + 5 + 1 <= 10: t = 6 s
    assert throttles.seconds_until_free("k", window, 10, 5) == 6
    cache.clear()


def test_on_redis_the_count_and_its_expiry_are_one_transaction(monkeypatch):
    """Review finding: `isinstance(cache, RedisCache)` was always false (django's
    `cache` is a ConnectionProxy), so on Redis the counting this module describes (INCR
    and EXPIREAT in one MULTI) never ran: add() then incr(), three round trips."""
    pipelines = []
    real = throttles._redis

    def spy():
        client = real()
        pipelines.append(client)
        return client

    monkeypatch.setattr(throttles, "_redis", spy)
    with redis_cache():
        window = Window.at(3600, time.time())
        assert throttles.increment("one-transaction", window) == 1
        assert throttles.increment("one-transaction", window) == 2
        assert throttles.count("one-transaction", window) == 2
    assert len(pipelines) == 2
