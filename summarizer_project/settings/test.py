"""Settings for the test suite: DATABASE_URL/REDIS_URL from the environment
(CI: PostgreSQL and the system Redis), else SQLite and the embedded Redis, which
tests/conftest.py starts for the session (settings only name its socket)."""

import os

from . import hermetic  # noqa: F401  first: before the environment is read
from .environment import EMBEDDED_REDIS_URL

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")
os.environ.setdefault("REDIS_URL", EMBEDDED_REDIS_URL)

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    DATABASES,
    INSTALLED_APPS,
    SQLITE_ENGINE,
    VAR_DIR,
    env,
)

INSTALLED_APPS = [*INSTALLED_APPS, "devstack"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:
    # A file, not :memory:, so a real Celery worker process sees the test data; one
    # per pytest process, so two test runs in one checkout do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# Keep the suite's queues apart from a demo stack on the same Redis: use its own
# Redis database, so a demo worker never steals (and drops) a test's message.
_TEST_REDIS_DB = env.int("TEST_REDIS_DB", default=15)
if CELERY_BROKER_URL.startswith("redis+socket://"):
    CELERY_BROKER_URL = f"{CELERY_BROKER_URL.split('?')[0]}?virtual_host={_TEST_REDIS_DB}"
else:
    CELERY_BROKER_URL = f"{CELERY_BROKER_URL.rsplit('/', 1)[0]}/{_TEST_REDIS_DB}"
REDIS_URL = CELERY_BROKER_URL

# Throttle counts per test process; the suite's own tests lower THROTTLE_RATES.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
THROTTLE_RATES = {"login_ip": None, "login_user": None, "uploads": None}
# /healthz measures afresh on each request: tests start and stop workers between calls.
HEALTHZ_CACHE_SECONDS = 0.0
