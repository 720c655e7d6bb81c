"""Throttles, rates from settings.THROTTLE_RATES (read per request, so tests can lower
them). Counts live in the Django cache: Redis in base settings, so every web worker
shares them; locmem (per process) in test settings.

Counting is atomic: every request increments a counter (Redis INCR, in one MULTI with
its EXPIREAT), so concurrent requests in any number of gunicorn processes and threads
each see a distinct count. DRF's own throttle reads a list of timestamps and writes
it back, and concurrent requests overwrote each other's (issue #24: 909 of 1,000
concurrent uploads accepted against 600/hour).

The window slides by weighting: the count of the previous fixed window, scaled by
the part of it that still lies within the last `duration` seconds, plus the count of
the current one. A request that would take that estimate past the limit is refused
and its increment taken back, so refused requests do not count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle


@dataclass(frozen=True)
class Window:
    """The fixed window `now` falls in, for a counter of `duration` seconds."""

    duration: int
    index: int
    elapsed: float  # seconds since the window began

    @classmethod
    def at(cls, duration: int, now: float) -> Window:
        index = int(now // duration)
        return cls(duration, index, now - index * duration)

    @property
    def ends_at(self) -> float:
        return (self.index + 1) * self.duration

    @property
    def previous_weight(self) -> float:
        """The share of the previous window still within the last `duration` seconds."""
        return 1.0 - self.elapsed / self.duration


def _counter_key(key: str, index: int) -> str:
    return f"{key}:w{index}"


def _redis():
    return cache._cache.get_client(write=True)


def increment(key: str, window: Window, delta: int = 1) -> int:
    """Add `delta` to the window's counter atomically; its new value. The counter
    expires once the next window no longer weighs it."""
    counter = _counter_key(key, window.index)
    expire_at = math.ceil(window.ends_at + window.duration) + 1
    # `cache` is a proxy, never an instance of a backend class: ask for the backend.
    if isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache):
        full_key = cache.make_and_validate_key(counter)
        with _redis().pipeline(transaction=True) as pipe:
            pipe.incrby(full_key, delta)
            pipe.expireat(full_key, expire_at)
            value, _ = pipe.execute()
        return int(value)
    # Another backend (locmem in tests): add() then incr(), each atomic in it.
    cache.add(counter, 0, max(1, expire_at - time.time()))
    return int(cache.incr(counter, delta))


def count(key: str, window: Window) -> int:
    value = cache.get(_counter_key(key, window.index))
    return int(value or 0)


def estimate(key: str, window: Window, current: int | None = None) -> float:
    """Requests in the last `duration` seconds, weighting the previous window."""
    if current is None:
        current = count(key, window)
    previous = cache.get(_counter_key(key, window.index - 1))
    return int(previous or 0) * window.previous_weight + current


def seconds_until_free(key: str, window: Window, limit: int, current: int) -> int:
    """When one more request would be allowed, if none came meanwhile (>= 1 s)."""
    previous = int(cache.get(_counter_key(key, window.index - 1)) or 0)
    remaining = window.duration - window.elapsed
    if current < limit and previous:
        # In this window: previous * (1 - (elapsed + t) / duration) + current + 1 <= limit.
        wait = window.duration * (1 - (limit - current - 1) / previous) - window.elapsed
        if wait <= remaining:
            return max(1, math.ceil(wait))
    # In the next window, where this one's count weighs current * (1 - t / duration).
    if current:
        remaining += window.duration * max(0.0, 1 - (limit - 1) / current)
    return max(1, math.ceil(remaining))


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)

    def wait(self):
        return getattr(self, "retry_after", None)

    def take(self, request, view) -> tuple[str, Window] | None:
        """Count this request and return the counter it took a place in; or refuse it
        (self.refused, the counter left as it was); None also when not throttled."""
        self.refused = False
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        window = Window.at(self.duration, self.timer())
        current = increment(key, window)
        if estimate(key, window, current) > self.num_requests:
            increment(key, window, -1)
            self.refused = True
            self.retry_after = seconds_until_free(key, window, self.num_requests, current - 1)
            return None
        return key, window


class UploadThrottle(_SettingsRate):
    """Uploads per user: document create, batch, summarize."""

    scope = "uploads"

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        self.take(request, view)
        return not self.refused


class _FailedLoginThrottle(_SettingsRate):
    """Counts failed logins only. Each attempt takes a place in the count before it
    is checked (so concurrent attempts cannot all pass a count read before any
    failed); a successful one gives its place back (`release`)."""

    def allow_request(self, request, view):
        taken = self.take(request, view)
        if taken is not None:
            view.login_attempts_counted = [*getattr(view, "login_attempts_counted", []), taken]
        return not self.refused


def release_login_attempts(view) -> None:
    """The login succeeded: its attempt is not a failure and no longer counts."""
    for key, window in getattr(view, "login_attempts_counted", []):
        increment(key, window, -1)
    view.login_attempts_counted = []


class LoginIPThrottle(_FailedLoginThrottle):
    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUserThrottle(_FailedLoginThrottle):
    scope = "login_user"

    def get_cache_key(self, request, view):
        data = request.data
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        ident = username.strip().lower()[:150].encode("utf-8", "backslashreplace").hex()
        return self.cache_format % {"scope": self.scope, "ident": ident}
