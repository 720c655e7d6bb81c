"""Review findings on #22's training-data paths: the API asks for the permission the
admin asks for (``jobs.change_document``: ``splits.may_manage_training_data``), not
just ``is_staff``; whether a text is training data is staff-only; staff with the
permission move and label any document; a client cannot delete training data."""

import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from rest_framework.test import APIClient

from jobs.admin.documents import DocumentAdmin
from jobs.models import Document, LabelOverride, ReviewEvent, Summary
from jobs.services.splits import may_manage_training_data
from tests.factories import ARTICLE, DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

ITEM = {"text": ARTICLE, "reference_summary": "Boats.", "summarize": False}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def viewer():
    """Staff without model permissions: the dashboard lets them look, nothing more."""
    return UserFactory(is_staff=True)


@pytest.fixture
def editor():
    """Staff with the document change permission (not superuser)."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_document"))
    return user


def rows() -> tuple[int, ...]:
    return (
        Document.objects.count(),
        Summary.objects.count(),
        LabelOverride.objects.count(),
        ReviewEvent.objects.count(),
    )


def assert_forbidden(resp, field: str) -> None:
    assert resp.status_code == 403, resp.content
    body = resp.json()
    assert set(body) == {"detail", "errors"} and list(body["errors"]) == [field]
    assert "permission to change documents" in body["detail"]


def test_one_rule_for_the_api_and_the_admin(viewer, editor, staff, user):
    admin_site_document = DocumentAdmin(Document, None)
    for who, may in ((viewer, False), (editor, True), (staff, True), (user, False)):
        assert may_manage_training_data(who) is may
        request = RequestFactory().get("/")
        request.user = who
        assert admin_site_document.may(request) is may
        assert admin_site_document.has_operate_permission(request) is may


def test_staff_without_the_permission_cannot_write_training_data(viewer):
    api = client_for(viewer)
    before = rows()
    assert_forbidden(
        api.post("/api/documents/", {**ITEM, "split": "train"}, format="json"), "split"
    )
    batch = [{"text": "A. B.", "split": "validation"}]
    assert_forbidden(api.post("/api/documents/batch/", batch, format="json"), "split")
    assert rows() == before
    doc = DocumentFactory(owner=viewer)
    before = rows()
    resp = api.post(f"/api/documents/{doc.pk}/labels/", {"labels": {"0": 1}}, format="json")
    assert_forbidden(resp, "labels")
    assert_forbidden(
        api.patch(f"/api/documents/{doc.pk}/", {"split": "train"}, format="json"), "split"
    )
    doc.refresh_from_db()
    assert doc.split == "" and rows() == before


def test_staff_with_the_permission_write_training_data(editor):
    api = client_for(editor)
    resp = api.post("/api/documents/", {**ITEM, "split": "train"}, format="json")
    assert resp.status_code == 201 and resp.json()["split"] == "train"


def test_duplicate_of_is_shown_only_to_those_who_may_manage_training_data(
    api, viewer, editor, staff
):
    DocumentFactory(owner=staff, split="train", reference_summary="Boats.")
    for who in (api, client_for(viewer)):
        body = who.post(
            "/api/documents/", {"text": ARTICLE, "summarize": False}, format="json"
        ).json()
        assert body["duplicate_of"] is None and body["warnings"] == []
        [item] = who.post("/api/documents/batch/", [{"text": ARTICLE}], format="json").json()
        assert item["duplicate_of"] is None and item["warnings"] == []
    body = client_for(editor).post("/api/documents/", {"text": ARTICLE}, format="json").json()
    assert body["duplicate_of"] == ["train"] and len(body["warnings"]) == 1


def test_labels_are_not_shown_to_the_owner_of_a_copy(api, user, staff):
    """A client's copy shares the labels staff put on another copy of its text."""
    staff_copy = DocumentFactory(owner=staff)
    mine = DocumentFactory(owner=user)  # the same text
    assert (
        client_for(staff)
        .post(f"/api/documents/{staff_copy.pk}/labels/", {"labels": {"1": 1}}, format="json")
        .status_code
        == 200
    )
    assert LabelOverride.objects.filter(document=mine).exists()
    assert_forbidden(api.get(f"/api/documents/{mine.pk}/labels/"), "labels")


def test_staff_with_the_permission_move_and_label_anyones_document(editor, user):
    theirs = DocumentFactory(owner=user)
    api = client_for(editor)
    resp = api.patch(f"/api/documents/{theirs.pk}/", {"split": "validation"}, format="json")
    assert resp.status_code == 200 and resp.json()["split"] == "validation"
    resp = api.post(f"/api/documents/{theirs.pk}/labels/", {"labels": {"0": 1}}, format="json")
    assert resp.status_code == 200 and resp.json() == {"labels": {"0": 1}}
    assert api.get(f"/api/documents/{theirs.pk}/labels/").json() == {"labels": {"0": 1}}
    theirs.refresh_from_db()
    assert theirs.split == "validation"
    # Only those two: the rest of the API stays the caller's own documents.
    assert api.get(f"/api/documents/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/documents/{theirs.pk}/").status_code == 404


def test_clients_keep_owner_scoping(api, editor):
    theirs = DocumentFactory(owner=editor)
    # Not found comes after forbidden: a client may not use these paths at all.
    assert (
        api.patch(f"/api/documents/{theirs.pk}/", {"split": "train"}, format="json").status_code
        == 403
    )
    assert api.get(f"/api/documents/{theirs.pk}/labels/").status_code == 403
    assert api.get(f"/api/documents/{theirs.pk}/").status_code == 404


def test_a_client_cannot_delete_their_document_once_it_is_training_data(api, user, staff):
    doc = DocumentFactory(owner=user)
    client_for(staff).post(f"/api/documents/{doc.pk}/labels/", {"labels": {"0": 1}}, format="json")
    doc.refresh_from_db()
    assert doc.split in ("train", "validation")
    before = rows()
    resp = api.delete(f"/api/documents/{doc.pk}/")
    assert_forbidden(resp, "split")
    assert "training data" in resp.json()["detail"] and "ask staff" in resp.json()["detail"]
    assert rows() == before
    # Out of the split (staff's decision), the client can delete it.
    client_for(staff).patch(f"/api/documents/{doc.pk}/", {"split": ""}, format="json")
    assert api.delete(f"/api/documents/{doc.pk}/").status_code == 204
    assert not Document.objects.filter(pk=doc.pk).exists()


def test_staff_with_the_permission_delete_their_training_documents(editor):
    doc = DocumentFactory(owner=editor, split="train", reference_summary="Boats.")
    assert client_for(editor).delete(f"/api/documents/{doc.pk}/").status_code == 204


def test_a_client_asking_for_a_split_hears_403_before_the_texts_rules(user, settings):
    """The permission is asked before the rules that split the text: a client gets the
    403 whatever else is wrong, and an unknown split value stays the rules' 400."""
    settings.MAX_DOCUMENT_SENTENCES = 2
    client, before = client_for(user), rows()
    long_text = "One sentence here. Another one there. A third one follows. And a fourth."
    one = client.post("/api/documents/", {**ITEM, "text": long_text, "split": "train"}, "json")
    assert_forbidden(one, "split")
    batch = client.post(
        "/api/documents/batch/", [{**ITEM, "text": long_text, "split": "validation"}], "json"
    )
    assert_forbidden(batch, "split")
    unknown = client.post("/api/documents/", {**ITEM, "text": "Short.", "split": "holdout"}, "json")
    assert unknown.status_code == 400 and "split" in unknown.json()["errors"], unknown.content
    assert rows() == before
