"""/api/docs/ (Swagger UI) renders with the network limited to this machine: every
request to a host other than the live server's is blocked, as on a server without
internet (issue #17: Swagger UI came from a CDN and the page was blank). Screenshots:
the test's tmp dir and test-artifacts/browser/."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

from .conftest import login, shoot

pytestmark = pytest.mark.django_db(transaction=True)

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def offline(page) -> list[str]:
    """Abort every request that would leave the machine; returns what was blocked."""
    blocked: list[str] = []

    def route(r):
        if urlsplit(r.request.url).hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked


def test_swagger_ui_renders_offline(page, tmp_path):
    staff = UserFactory(is_staff=True)
    blocked = offline(page)
    login(page, staff.username)  # the admin's session is enough for the docs (or a token)

    page.goto("/api/docs/")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/documents/" in paths and "/api/summaries/{id}/cancel/" in paths, paths
    assert operations.count() >= 15
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
    shoot(page, "api-docs-offline")

    assert (tmp_path / "api-docs.png").stat().st_size > 10_000
    assert blocked == [], f"the docs asked for other hosts: {blocked}"
