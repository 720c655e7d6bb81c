"""TensorBoard behind the admin: the streaming proxy keeps credentials here."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_tensorboard_proxy_streams_and_keeps_credentials_here(staff, fake_tensorboard):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    base = reverse("admin:jobs_trainingrun_tensorboard")
    response = client.get(base + "data/runs?x=1&y=a%20b")
    assert response.status_code == 200 and response.streaming
    assert len(b"".join(response.streaming_content)) == 200_000
    assert "Set-Cookie" not in response.headers and "private" in response["Cache-Control"]
    seen = fake_tensorboard[-1]
    assert seen["path"] == "/data/runs?x=1&y=a%20b"
    assert not any(h.lower() in ("cookie", "authorization") for h in seen["headers"])

    # TensorBoard's time-series queries are POSTs without a Django CSRF token.
    response = client.post(
        base + "data/plugin/timeseries/timeSeries", "requests=%5B%5D",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200
    assert fake_tensorboard[-1]["body"] == b"requests=%5B%5D"

    response = client.get(base + "moved")
    assert response["Location"] == base + "elsewhere/"

    count = len(fake_tensorboard)
    assert client.get(base + "data/../../etc/passwd").status_code == 404
    assert client.put(base + "data/runs").status_code == 405
    assert len(fake_tensorboard) == count  # neither reached TensorBoard


def test_tensorboard_proxy_says_when_tensorboard_is_down(staff_client, settings):
    settings.TENSORBOARD_INTERNAL_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    response = staff_client.get(reverse("admin:jobs_trainingrun_tensorboard"))
    assert response.status_code == 502
    assert "TensorBoard is not available" in response.content.decode()
