"""Flower, started with the command line `manage.py runstack` gives it, answers staff
through the admin's proxy under its --url_prefix, and nobody else."""

from __future__ import annotations

import contextlib
import re
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client

from devstack.children import flower_child
from tests.factories import UserFactory
from tests.summarizer_project.helpers import free_port

pytestmark = pytest.mark.integration


def wait_for_flower(url: str, workers, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"Flower did not answer {url} in {timeout}s\n{workers.logs()}")


def test_flower_answers_staff_through_the_proxy_and_refuses_others(
    workers, staff, settings, tmp_path
):
    workers.start()  # a worker for Flower to show
    settings.FLOWER_PORT = free_port()
    settings.FLOWER_INTERNAL_URL = f"http://127.0.0.1:{settings.FLOWER_PORT}"
    child = flower_child(tmp_path)
    workers.start_command("flower", child.argv, ping=False)
    prefix = f"/{settings.FLOWER_URL_PREFIX}/"
    wait_for_flower(f"{settings.FLOWER_INTERNAL_URL}{prefix}healthcheck", workers)

    client = Client()
    client.force_login(staff)
    page = client.get(prefix)
    assert page.status_code == 200, page
    html = b"".join(page.streaming_content).decode()
    assert "<title>Workers · Flower</title>" in html
    # Flower's own links and assets point back through the proxy.
    links = re.findall(r'(?:href|src)="(/[^"]*)"', html)
    assert links and all(link.startswith(prefix) for link in links), links
    static = client.get(next(link for link in links if ".css" in link))
    assert static.status_code == 200
    assert "Set-Cookie" not in page.headers and "private" in page["Cache-Control"]

    # The worker on Flower's workers page (Flower asks the workers by broadcast).
    deadline = time.monotonic() + 30
    while "test-" not in html and time.monotonic() < deadline:
        time.sleep(1)
        html = b"".join(client.get(prefix).streaming_content).decode()
    assert re.search(r">test-\d+-0@[^<]+<", html), html[-3000:]

    # Control actions are not forwarded (and Flower runs --read_only).
    assert client.post(prefix + "api/worker/shutdown/x").status_code == 405

    # Not staff: the admin's login page, never Flower.
    outsider = Client()
    outsider.force_login(UserFactory())
    for c in (outsider, Client()):
        response = c.get(prefix)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
