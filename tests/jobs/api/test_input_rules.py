"""Serializers check the shape, the services the rules (issue #25): each rule refuses
a JSON document, a batch item and an upload with the service's one message, and the
document's fields are declared once (the upload and the service's input derive them)."""

import dataclasses

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.api.serializers import DocumentInputSerializer, FileUploadSerializer
from jobs.models import Document
from jobs.services.documents import DocumentInput, validate_document
from jobs.services.errors import InvalidInput
from tests.factories import ARTICLE

pytestmark = pytest.mark.django_db

RULES = [
    ("max_sentences", {"max_sentences": 0}),
    ("max_sentences", {"max_sentences": 21}),
    ("model", {"model": "gpt"}),
    ("model", {"model": "LEAD3"}),
    ("model", {"model": "bertsumext"}),  # no trained version
    ("split", {"split": "holdout"}),
    ("title", {"title": "t" * 301}),
]


def _service_message(field: str, fields: dict) -> str:
    with pytest.raises(InvalidInput) as err:
        validate_document(DocumentInput(text=ARTICLE, **fields))
    assert err.value.field == field
    return err.value.message


@pytest.mark.parametrize(("field", "fields"), RULES)
def test_each_rule_says_the_same_on_every_path(api, settings, field, fields):
    settings.BERTSUMEXT_CHECKPOINT = ""
    settings.MAX_SUMMARY_SENTENCES = 20
    message = _service_message(field, fields)

    one = api.post("/api/documents/", {"text": ARTICLE, **fields}, format="json")
    batch = api.post("/api/documents/batch/", [{"text": ARTICLE, **fields}], format="json")
    form = {k: str(v) for k, v in fields.items()}
    upload = api.post(
        "/api/documents/",
        {"file": SimpleUploadedFile("a.txt", ARTICLE.encode()), **form},
        format="multipart",
    )
    assert [r.status_code for r in (one, batch, upload)] == [400, 400, 400]
    assert one.json() == {"detail": message, "errors": {field: [message]}}
    assert upload.json() == one.json()
    assert batch.json()["errors"] == {"0": {field: [message]}}
    assert not Document.objects.exists()


@pytest.mark.parametrize("text", ["", "  \n "])
def test_an_empty_text_is_the_services_rule(api, text):
    # (An upload of 0 bytes is refused as an empty file, before it is text.)
    upload = SimpleUploadedFile("a.txt", (text or "\n").encode())
    for resp in (
        api.post("/api/documents/", {"text": text}, format="json"),
        api.post("/api/documents/", {"file": upload}, format="multipart"),
    ):
        assert resp.status_code == 400
        assert resp.json()["errors"] == {"text": ["text is empty: send the document's text"]}


def test_a_type_error_is_the_serializers_and_names_every_field(api):
    resp = api.post("/api/documents/", {"text": 5, "max_sentences": "3", "model": 1}, format="json")
    assert resp.status_code == 400
    assert set(resp.json()["errors"]) == {"text", "max_sentences", "model"}


def test_the_document_fields_are_declared_once():
    """The JSON serializer's fields are the service input's (less source_id, which
    only a dataset import sets); the upload's are the same with a file for the text."""
    client_fields = {f.name for f in dataclasses.fields(DocumentInput)} - {"source_id"}
    assert set(DocumentInputSerializer().fields) == client_fields
    assert set(FileUploadSerializer().fields) == client_fields - {"text"} | {"file"}


def test_an_uploads_long_file_name_is_cut_to_a_title_not_refused(api):
    name = "n" * 240 + ".txt"
    resp = api.post(
        "/api/documents/",
        {"file": SimpleUploadedFile(name, ARTICLE.encode())},
        format="multipart",
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["title"] == "n" * 240
