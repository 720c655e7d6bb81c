"""Fixtures of the dashboard tests: a logged-in staff client, a fake TensorBoard."""

from __future__ import annotations

import http.server
import threading

import pytest
from django.test import Client

from tests.jobs.admin.helpers import FakeTensorBoard


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def fake_tensorboard(settings):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeTensorBoard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TENSORBOARD_INTERNAL_URL = f"http://127.0.0.1:{server.server_address[1]}"
    FakeTensorBoard.seen = []
    yield FakeTensorBoard.seen
    server.shutdown()
    server.server_close()
