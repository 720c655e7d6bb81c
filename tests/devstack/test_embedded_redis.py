"""The embedded Redis: started by its user, stopped with it, never by settings."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from devstack import embedded_redis


@pytest.fixture
def own_redis_dir(settings):
    # A short path: a unix socket's path must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="er-") as tmp:
        settings.EMBEDDED_REDIS_DIR = Path(tmp) / "redis"
        yield Path(tmp)


def test_running_starts_a_server_and_stops_it(own_redis_dir):
    log = own_redis_dir / "log" / "redis.log"
    assert not embedded_redis.ping()
    with embedded_redis.running(log) as started:
        assert started is True
        assert embedded_redis.ping()
        assert embedded_redis.socket_path().stat().st_mode & 0o077 == 0  # mode 700
    assert not embedded_redis.ping()
    assert "ready to exit" in log.read_text()  # a clean shutdown


def test_running_uses_a_server_already_there_and_leaves_it(own_redis_dir):
    log = own_redis_dir / "redis.log"
    with embedded_redis.running(log) as outer:
        with embedded_redis.running(log) as inner:
            assert (outer, inner) == (True, False)
        assert embedded_redis.ping()  # the inner block did not stop the outer's server
    assert not embedded_redis.ping()


def test_shutdown_stops_whatever_answers_on_the_socket(own_redis_dir):
    with open(own_redis_dir / "redis.log", "ab") as log:
        process = embedded_redis.start(log, "redis.log")
        assert process is not None
        assert embedded_redis.shutdown() is True
        assert process.wait(timeout=10) == 0
    assert embedded_redis.shutdown() is False


def test_argv_keeps_the_production_durability_rules(own_redis_dir):
    argv = embedded_redis.argv()
    assert argv[argv.index("--appendonly") + 1] == "yes"
    assert argv[argv.index("--maxmemory-policy") + 1] == "noeviction"
    assert argv[argv.index("--daemonize") + 1] == "no"  # its parent supervises it
    assert argv[argv.index("--port") + 1] == "0"  # the unix socket only


def test_in_use_compares_the_broker_without_the_test_vhost(settings):
    settings.CELERY_BROKER_URL = f"{settings.EMBEDDED_REDIS_URL}?virtual_host=15"
    assert embedded_redis.in_use()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    assert not embedded_redis.in_use()
