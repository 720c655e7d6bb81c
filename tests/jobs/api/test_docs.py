"""/api/docs/ without a session says how to get in; the schema's request examples are
real documents; every JSON body ends with a newline."""

from __future__ import annotations

import json

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_docs_without_a_session_name_the_login_and_the_token_endpoint():
    resp = Client().get("/api/docs/")  # not a browser: the error shape
    assert resp.status_code == 401 and resp["Content-Type"].startswith("application/json")
    body = json.loads(resp.content)
    assert set(body) == {"detail", "errors"} and body["errors"] == {}
    assert "/admin/login/?next=%2Fapi%2Fdocs%2F" in body["detail"]
    assert "POST /api/auth/token/" in body["detail"] and "/api/schema/" in body["detail"]
    # A browser is sent to the login, which sends it back to the docs.
    browser = Client().get("/api/docs/", headers={"accept": "text/html,*/*"})
    assert browser.status_code == 302
    assert browser.url == "/admin/login/?next=%2Fapi%2Fdocs%2F"


def test_the_docs_login_brings_a_staff_user_back_to_the_docs(staff):
    client = Client()
    staff.set_password("pass-word-123")
    staff.save()
    resp = client.post(
        "/admin/login/?next=%2Fapi%2Fdocs%2F",
        {"username": staff.username, "password": "pass-word-123", "next": "/api/docs/"},
    )
    assert resp.status_code == 302 and resp.url == "/api/docs/"
    assert client.get(resp.url).status_code == 200


def _request_examples(schema: dict, path: str) -> dict:
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in content["examples"].items()}


def test_the_schemas_request_examples_are_real_documents_the_api_accepts(user, staff):
    client = APIClient()
    client.force_authenticate(user)
    staff_client = APIClient()
    staff_client.force_authenticate(staff)
    schema = yaml.safe_load(client.get("/api/schema/").content)
    documents = _request_examples(schema, "/api/documents/")
    assert documents["ADocument"]["text"].startswith("Hazel Street Bakery will switch")
    batch = _request_examples(schema, "/api/documents/batch/")["ABatch"]
    assert isinstance(batch, list) and batch[0]["text"] == documents["ADocument"]["text"]
    summarize = _request_examples(schema, "/api/documents/{id}/summarize/")["AnotherModel"]
    # Each example is accepted as it is shown.
    for example in documents.values():
        if "split" in example:  # training data: staff only, as its description says
            assert client.post("/api/documents/", example, format="json").status_code == 403
            resp = staff_client.post("/api/documents/", example, format="json")
            assert resp.status_code == 201, resp.content
            continue
        resp = client.post("/api/documents/", example, format="json")
        assert resp.status_code == 201, resp.content
        doc = resp.json()["id"]  # the client's own document, summarized again below
    assert client.post("/api/documents/batch/", batch, format="json").status_code == 201
    again = client.post(f"/api/documents/{doc}/summarize/", summarize, format="json")
    assert again.status_code == 202, again.content


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/api/documents/", 200),
        ("get", "/api/documents/999999/", 404),
        ("post", "/api/documents/", 400),
        ("get", "/api/no-such-thing/", 404),
        ("get", "/healthz", None),
    ],
)
def test_every_json_body_ends_with_a_newline(user, method, path, status):
    client = APIClient()
    client.force_authenticate(user)
    resp = getattr(client, method)(path, {"colour": "red"} if method == "post" else None)
    if status is not None:
        assert resp.status_code == status
    assert resp["Content-Type"].startswith("application/json")
    assert resp.content.endswith(b"}\n") and not resp.content.endswith(b"\n\n")
    json.loads(resp.content)
    if resp.has_header("Content-Length"):
        assert int(resp["Content-Length"]) == len(resp.content)
