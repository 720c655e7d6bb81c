import pytest


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def pytest_sessionstart(session):
    """STATIC_ROOT before collection (tests/jobs/test_api_fuzz.py builds the WSGI app on
    import): whitenoise warns on every handler it builds while it is missing, and
    settings no longer create it."""
    from pathlib import Path

    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session", autouse=True)
def embedded_redis():
    """The embedded Redis for the whole session when REDIS_URL is unset (settings only
    name its socket; nothing else starts it), stopped at the end."""
    from pathlib import Path

    from django.conf import settings

    from devstack import embedded_redis

    if not embedded_redis.in_use():
        yield False  # CI: the system Redis from REDIS_URL
        return
    with embedded_redis.running(Path(settings.VAR_DIR) / "log" / "redis-tests.log") as started:
        _empty_test_database()
        yield started


def _empty_test_database() -> None:
    """A fresh broker database for the session: the embedded Redis keeps an append-only
    file, so a message a killed worker left unacknowledged in an earlier run would
    otherwise be delivered to this one. Only the suite's own database (test settings'
    virtual host) is emptied; a demo stack on the same server keeps its queues."""
    from summarizer_project.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
