"""Settings start nothing and create nothing; production requires REDIS_URL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import ROOT, clean_env, manage, redis_servers_under, run_reaped

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and prctl")

SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.CELERY_BROKER_URL); print('devstack' in settings.INSTALLED_APPS)"
)


def production_env(var_dir, **extra: str) -> dict[str, str]:
    return clean_env(
        var_dir,
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.production",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="summarizer.example.org",
        **extra,
    )


def test_production_settings_refuse_to_start_without_redis_url(tmp_path):
    env = production_env(tmp_path / "var")
    proc = subprocess.run(manage("check"), cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "ImproperlyConfigured: REDIS_URL is not set" in proc.stderr
    assert "production needs a Redis server" in proc.stderr
    assert not (tmp_path / "var").exists()
    assert redis_servers_under(tmp_path) == []


@pytest.mark.parametrize("module", ["local", "test"])
def test_importing_settings_starts_no_process_and_creates_nothing(tmp_path, module):
    var_dir = tmp_path / "var"
    env = clean_env(var_dir, DJANGO_SETTINGS_MODULE=f"summarizer_project.settings.{module}")
    (report,) = run_reaped([[sys.executable, "-c", SHOW]], env)
    assert report["returncode"] == 0, report["stderr"]
    broker, devstack_installed = report["stdout"].split()
    # The embedded Redis's socket under the var dir, named but not started.
    assert broker.startswith(f"redis+socket://{var_dir}/redis/redis.sock")
    assert devstack_installed == "True"
    assert report["leftovers"] == []
    assert not var_dir.exists()


def test_local_settings_use_redis_url_when_set(tmp_path):
    env = clean_env(
        tmp_path / "var",
        DJANGO_SETTINGS_MODULE="summarizer_project.settings.local",
        REDIS_URL="redis://broker.internal:6379/2",
    )
    (report,) = run_reaped([[sys.executable, "-c", SHOW]], env)
    assert report["stdout"].split()[0] == "redis://broker.internal:6379/2"


def test_production_settings_do_not_install_devstack(tmp_path):
    env = production_env(tmp_path / "var", REDIS_URL="redis://redis:6379/0")
    proc = subprocess.run(
        manage("runstack", "--stop"), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "Unknown command: 'runstack'" in proc.stderr


def test_test_settings_keep_the_suite_on_its_own_redis_database(settings):
    db = os.environ.get("TEST_REDIS_DB", "15")
    assert settings.CELERY_BROKER_URL.endswith((f"?virtual_host={db}", f"/{db}"))
    assert settings.REDIS_URL == settings.CELERY_BROKER_URL


def test_an_unknown_healthz_required_component_is_refused(tmp_path):
    env = production_env(tmp_path / "var", REDIS_URL="redis://redis:6379/0")
    env["HEALTHZ_REQUIRED"] = "inference,workers"
    proc = subprocess.run(manage("check"), cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert (
        "HEALTHZ_REQUIRED=inference,workers: each must be inference, training or beat"
        in proc.stderr
    )
