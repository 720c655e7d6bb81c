"""Throttles, rates from settings.THROTTLE_RATES (read per request, so tests can lower
them). Counts live in the Django cache: Redis in base settings, so every web worker
shares them; locmem (per process) in test settings."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)


class UploadThrottle(_SettingsRate):
    """Uploads per user: document create, batch, summarize."""

    scope = "uploads"

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _FailedLoginThrottle(_SettingsRate):
    """Counts failed logins only: allow_request checks, record_failure counts."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True

    def record_failure(self, request, view) -> None:
        if self.rate is None:
            return
        key = self.get_cache_key(request, view)
        if key is None:
            return
        now = self.timer()
        history = [t for t in self.cache.get(key, []) if t > now - self.duration]
        self.cache.set(key, [now, *history], self.duration)


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
