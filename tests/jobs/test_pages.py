"""The bare address (`/`) says where everything is, and each link it shows answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_front_page_links_the_dashboard_the_api_docs_the_token_and_health(staff):
    resp = Client().get("/")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/html")
    html = resp.content.decode()
    links = re.findall(r'href="([^"]+)"', html)
    assert links == ["/admin/", "/api/docs/", "/api/schema/", "/healthz"]
    assert "POST /api/auth/token/" in html and "Authorization: Token" in html
    # Each link goes where it says: the dashboard to its login, the docs (anonymous, from
    # a browser) to the login and back, health answers.
    anonymous = Client()
    assert anonymous.get("/admin/").url.startswith("/admin/login/")
    docs = anonymous.get("/api/docs/", headers={"accept": "text/html"})
    assert docs.status_code == 302 and docs.url == "/admin/login/?next=%2Fapi%2Fdocs%2F"
    assert anonymous.get("/healthz").status_code in (200, 503)
    logged_in = Client()
    logged_in.force_login(staff)
    assert logged_in.get("/admin/").status_code == 200
    assert logged_in.get("/api/docs/").status_code == 200
    assert logged_in.get("/api/schema/").status_code == 200
