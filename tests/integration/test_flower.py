"""Flower, started with the command line `manage.py runstack` gives it, answers staff
through the admin's proxy under its --url_prefix, and nobody else."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client

from devstack.children import flower_child
from jobs import messages
from tests.factories import UserFactory
from tests.summarizer_project.helpers import free_port

pytestmark = pytest.mark.integration


# What Flower's Tasks page POSTs for its first page (DataTables' server-side paging).
DATATABLE = {
    "draw": "1",
    "start": "0",
    "length": "15",
    "search[value]": "",
    "order[0][column]": "0",
    "order[0][dir]": "desc",
    "columns[0][data]": "received",
}


def _datatable(client: Client, prefix: str) -> dict:
    response = client.post(
        prefix + "tasks/datatable", DATATABLE, headers={"sec-fetch-site": "same-origin"}
    )
    assert response.status_code == 200, response
    return json.loads(b"".join(response.streaming_content))


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
    workers.start(queues="training")  # and one for each queue, as runstack runs them
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

    # The default-queue worker on Flower's workers page. Flower asks the workers by
    # broadcast, and one may answer a refresh later than the other.
    shown = re.compile(r">test-\d+-0@[^<]+<")
    deadline = time.monotonic() + 30
    while not shown.search(html) and time.monotonic() < deadline:
        time.sleep(1)
        html = b"".join(client.get(prefix).streaming_content).decode()
    assert shown.search(html), html[-3000:]

    # Control actions are not forwarded (and Flower runs --read_only).
    assert client.post(prefix + "api/worker/shutdown/x").status_code == 405
    assert client.post(prefix + "tasks", {"x": 1}).status_code == 405

    # The Tasks page's table: its POST (as Flower's script sends it, from this site)
    # comes back with a task the worker ran; from another site it is refused.
    workers.app.send_task(messages.REAP_STALE_JOBS, queue="default")
    rows = workers.wait_for(
        lambda: [r for r in _datatable(client, prefix)["data"] if r["state"] == "SUCCESS"],
        60,
        "the reaper task done in Flower's table",
    )
    assert [row["name"] for row in rows] == [messages.REAP_STALE_JOBS], rows
    assert rows[0]["state"] == "SUCCESS" and rows[0]["worker"].startswith("test-"), rows
    forged = client.post(
        prefix + "tasks/datatable", DATATABLE, headers={"origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    cross_site = client.post(
        prefix + "tasks/datatable", DATATABLE, headers={"sec-fetch-site": "cross-site"}
    )
    assert cross_site.status_code == 403

    # The Broker page lists every queue the service uses, with its messages.
    broker = b"".join(client.get(prefix + "broker").streaming_content).decode()
    listed = set(re.findall(r"<td>(inference|training|default)</td>", broker))
    assert listed == {"inference", "training", "default"}, broker[-3000:]

    # Not staff: the admin's login page, never Flower.
    outsider = Client()
    outsider.force_login(UserFactory())
    for c in (outsider, Client()):
        response = c.get(prefix)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
