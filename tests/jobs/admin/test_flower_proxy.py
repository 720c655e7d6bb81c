"""The Flower proxy without Flower: a 502 that says where it was expected."""

import pytest

pytestmark = pytest.mark.django_db


def test_flower_proxy_says_when_flower_is_down(staff_client, settings):
    settings.FLOWER_INTERNAL_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    response = staff_client.get("/admin/flower/workers")
    assert response.status_code == 502
    text = response.content.decode()
    assert "Flower is not available" in text and "FLOWER_INTERNAL_URL" in text
