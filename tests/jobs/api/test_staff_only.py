"""Training data belongs to staff (issue #22): a non-staff client cannot put a document
into a split, label, or move one; every path answers 403 in the API's error shape and
stores nothing. Staff can, and an upload that duplicates training data says so to them."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from jobs.models import Document, LabelOverride, ReviewEvent, Summary
from tests.factories import ARTICLE, DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def rows() -> tuple[int, int, int, int]:
    return (
        Document.objects.count(),
        Summary.objects.count(),
        LabelOverride.objects.count(),
        ReviewEvent.objects.count(),
    )


def assert_forbidden(resp, field: str) -> None:
    assert resp.status_code == 403, resp.content
    body = resp.json()
    assert set(body) == {"detail", "errors"}
    assert body["detail"].startswith("only staff with the permission to change documents can")
    assert list(body["errors"]) == [field]


ITEM = {"text": ARTICLE, "reference_summary": "Boats.", "summarize": False}


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_post_documents_with_a_split(api, split):
    before = rows()
    resp = api.post("/api/documents/", {**ITEM, "split": split}, format="json")
    assert_forbidden(resp, "split")
    assert rows() == before


def test_batch_json_list_with_one_training_item(api):
    before = rows()
    items = [{"text": "Plain. Upload."}, {**ITEM, "split": "train"}]
    resp = api.post("/api/documents/batch/", items, format="json")
    assert_forbidden(resp, "split")
    assert rows() == before


def test_batch_json_lines_with_a_training_item(api):
    before = rows()
    body = "\n".join(json.dumps(i) for i in [{"text": "A. B."}, {**ITEM, "split": "validation"}])
    resp = api.generic(
        "POST", "/api/documents/batch/", body.encode(), content_type="application/x-ndjson"
    )
    assert_forbidden(resp, "split")
    assert rows() == before


def test_multipart_file_upload_with_a_split(api):
    before = rows()
    resp = api.post(
        "/api/documents/",
        {"file": SimpleUploadedFile("a.txt", ARTICLE.encode()), "split": "train"},
        format="multipart",
    )
    assert_forbidden(resp, "split")
    assert rows() == before


def test_moving_a_document_between_splits(api, user):
    doc = DocumentFactory(owner=user)
    before = rows()
    resp = api.patch(f"/api/documents/{doc.pk}/", {"split": "train"}, format="json")
    assert_forbidden(resp, "split")
    doc.refresh_from_db()
    assert doc.split == "" and rows() == before


def test_labelling_a_document(api, user):
    doc = DocumentFactory(owner=user)
    before = rows()
    resp = api.post(f"/api/documents/{doc.pk}/labels/", {"labels": {"0": 1}}, format="json")
    assert_forbidden(resp, "labels")
    doc.refresh_from_db()
    assert doc.split == "" and rows() == before
    # Reading labels is staff's too: every copy of a text shares them.
    assert_forbidden(api.get(f"/api/documents/{doc.pk}/labels/"), "labels")


def test_a_client_can_still_upload_with_a_reference_and_no_split(api):
    resp = api.post("/api/documents/", ITEM, format="json")
    assert resp.status_code == 201
    assert resp.json()["split"] == "" and resp.json()["warnings"] == []
    assert resp.json()["duplicate_of"] is None  # not a client's to know


def test_staff_move_a_document_between_splits(staff_api, staff, user):
    doc = DocumentFactory(owner=staff)
    resp = staff_api.patch(f"/api/documents/{doc.pk}/", {"split": "validation"}, format="json")
    assert resp.status_code == 200 and resp.json()["split"] == "validation"
    doc.refresh_from_db()
    assert doc.split == "validation"
    bad = staff_api.patch(f"/api/documents/{doc.pk}/", {"split": "holdout"}, format="json")
    assert bad.status_code == 400 and "split" in bad.json()["errors"]
    # PATCH without a split (valid by the schema, which makes PATCH fields optional)
    # changes nothing.
    same = staff_api.patch(f"/api/documents/{doc.pk}/", {}, format="json")
    assert same.status_code == 200 and same.json()["split"] == "validation"
    # Staff move anyone's document (issue #22: "in the admin and the API").
    theirs = DocumentFactory(owner=user)
    resp = staff_api.patch(f"/api/documents/{theirs.pk}/", {"split": "train"}, format="json")
    assert resp.status_code == 200
    theirs.refresh_from_db()
    assert theirs.split == "train"


def test_staff_label_a_document_which_becomes_training_data(staff_api, staff):
    doc = DocumentFactory(owner=staff)
    resp = staff_api.post(
        f"/api/documents/{doc.pk}/labels/", {"labels": {"1": 1, "2": 0}}, format="json"
    )
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"labels": {"1": 1, "2": 0}}
    doc.refresh_from_db()
    assert doc.split in ("train", "validation")
    bad = staff_api.post(
        f"/api/documents/{doc.pk}/labels/", {"labels": {"3": 1, "40": 1}}, format="json"
    )
    assert bad.status_code == 400 and "sentence_index" in bad.json()["errors"]
    assert LabelOverride.objects.filter(document=doc).count() == 2  # all or nothing
    not_binary = staff_api.post(
        f"/api/documents/{doc.pk}/labels/", {"labels": {"3": 2}}, format="json"
    )
    assert not_binary.status_code == 400


def test_an_upload_that_duplicates_training_data_says_so_to_staff(staff_api, staff):
    """Only to staff who may manage training data: a client is not told whether a text
    (possibly another customer's) is training data (test_training_data_permissions)."""
    api = staff_api
    DocumentFactory(owner=staff, split="train", reference_summary="Boats.")
    DocumentFactory(owner=staff, split="validation", reference_summary="Boats.")
    resp = api.post("/api/documents/", {"text": ARTICLE, "summarize": False}, format="json")
    assert resp.status_code == 201
    body = resp.json()
    assert body["duplicate_of"] == ["train", "validation"]
    assert body["warnings"] == [
        "this text is already training data (split train and validation): it is stored as "
        "a duplicate, shares that text's labels and is not trained on twice"
    ]
    batch = api.post(
        "/api/documents/batch/", [{"text": ARTICLE}, {"text": "New. Text."}], format="json"
    )
    assert [d["duplicate_of"] for d in batch.json()] == [["train", "validation"], []]
    fresh = api.post("/api/documents/", {"text": "Another. Text."}, format="json").json()
    assert fresh["duplicate_of"] == [] and fresh["warnings"] == []


def test_a_clients_reference_summary_never_becomes_training_data_through_a_copy(
    api, staff_api, staff
):
    """Review finding: a client's reference summary (allowed without a split) must not
    reach training when staff label another copy of its text. Before the fix the
    client's copy was placed in the split with the staff copy and, being the oldest,
    was the one trained and judged on, with the client's reference."""
    poisoned = "Food stalls ran out of lemonade by the early afternoon."
    resp = api.post(
        "/api/documents/",
        {"text": ARTICLE, "reference_summary": poisoned, "summarize": False},
        format="json",
    )
    assert resp.status_code == 201
    theirs = Document.objects.get(pk=resp.json()["id"])
    mine = DocumentFactory(owner=staff)  # the same text, no reference
    resp = staff_api.post(f"/api/documents/{mine.pk}/labels/", {"labels": {"0": 1}}, format="json")
    assert resp.status_code == 200
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.split == ""  # shares the labels, stays out of the splits
    assert mine.split in ("train", "validation")
    [trained] = build_training_data_for(mine.split)
    assert trained.id == str(mine.pk)
    assert poisoned not in trained.reference


def build_training_data_for(split: str):
    from jobs.services.manifests import labelled_documents
    from jobs.workers.training_data import _examples

    examples, _, _ = _examples(labelled_documents(split))
    return examples


def test_a_sentence_index_too_long_for_an_int_is_a_400(staff_api, staff):
    """Review finding: a key of more than 4,300 digits made int() raise: a 500."""
    doc = DocumentFactory(owner=staff)
    resp = staff_api.post(
        f"/api/documents/{doc.pk}/labels/", {"labels": {"1" * 5000: 1}}, format="json"
    )
    assert resp.status_code == 400, resp.content[:200]
    assert list(resp.json()["errors"]) == ["labels"]
    assert not LabelOverride.objects.exists()
