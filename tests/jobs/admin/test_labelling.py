"""The labelling page, the label-next queue and moving documents between splits."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import Document, LabelOverride, ReviewEvent
from jobs.services.documents import DocumentInput, submit_document
from tests.factories import ARTICLE, DocumentFactory, UserFactory
from tests.jobs.admin.helpers import succeeded_summary

pytestmark = pytest.mark.django_db


def label_page(doc, index=None, queue=False):
    url = reverse("admin:jobs_document_label", args=[doc.pk])
    query = ([f"s={index}"] if index is not None else []) + (["queue=1"] if queue else [])
    return url + ("?" + "&".join(query) if query else "")


def act(client, doc, action, index=None, queue=False):
    url = reverse("admin:jobs_document_label_action", args=[doc.pk, action])
    query = ([f"s={index}"] if index is not None else []) + (["queue=1"] if queue else [])
    return client.post(url + ("?" + "&".join(query) if query else ""))


def upload(owner, text=ARTICLE):
    return submit_document(owner, DocumentInput(text=text, summarize=False)).document


def test_the_page_shows_every_sentence_its_label_source_and_the_keys(staff_client, user):
    doc = upload(user)
    html = staff_client.get(label_page(doc)).content.decode()
    assert html.count("<tr data-index=") + html.count('class="jobs-queue-current"') >= 5
    for key in ("i", "o", "x", "u", "j", "k"):
        assert f"<kbd>{key}</kbd>" in html
    assert "0 staff labels</strong> of 5 sentences" in html
    # A document with a reference shows the oracle's labels as their source.
    referenced = DocumentFactory(
        owner=user, text="Cats purr. Dogs bark loudly.", reference_summary="Dogs bark loudly."
    )
    response = staff_client.get(label_page(referenced))
    assert [(r.label, r.source) for r in response.context["rows"]] == [
        (0, "oracle"),
        (1, "oracle"),
    ]


def test_labelling_by_keys_labels_moves_on_and_undo_restores(staff_client, staff, user):
    doc = upload(user)
    response = act(staff_client, doc, "in", 0)
    assert response.status_code == 302 and response.url == label_page(doc, 1)
    act(staff_client, doc, "out", 1)
    assert dict(LabelOverride.objects.values_list("sentence_index", "label")) == {0: 1, 1: 0}
    page = staff_client.get(label_page(doc, 1))
    assert page.context["current"].source == "staff"
    assert page.context["current"].by == staff
    assert "Labelled a sentence" in page.content.decode()
    response = act(staff_client, doc, "undo")
    assert response.url == label_page(doc, 1)
    assert dict(LabelOverride.objects.values_list("sentence_index", "label")) == {0: 1}
    act(staff_client, doc, "remove", 0)
    assert not LabelOverride.objects.exists()
    html = staff_client.get(label_page(doc, 0)).content.decode()
    assert "Removed a staff label" in html and "(undone)" in html
    # Nothing else to remove: an error message, nothing changes.
    response = act(staff_client, doc, "remove", 0)
    follow = staff_client.get(response.url).content.decode()
    assert "no staff label to remove" in follow
    assert ReviewEvent.objects.count() == 4  # label, label, undo, unlabel


def test_a_viewer_without_change_permission_cannot_label(user):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_document"))
    client = Client()
    client.force_login(viewer)
    doc = upload(user)
    page = client.get(label_page(doc))
    assert page.status_code == 200 and 'data-key="i"' not in page.content.decode()
    assert act(client, doc, "in", 0).status_code == 403
    assert not LabelOverride.objects.exists()


def test_label_next_ranks_uploads_by_the_models_margin(staff_client, staff, user):
    sure = upload(user, "Sure one. Second sentence. Third here.")
    unsure = upload(user, "Unsure one. Second sentence. Third here.")
    unscored = upload(user, "No scores. Second sentence. Third here.")
    labelled = upload(user, "Labelled. Second sentence. Third here.")
    DocumentFactory(owner=staff, split="train", reference_summary="x")  # training data

    # Scores 1, 1/2, 1/3: the margin is the last selected one's minus the next one's.
    succeeded_summary(sure, selected=(0,), model="bertsumext")  # 1 - 1/2
    succeeded_summary(unsure, selected=(0, 1), model="bertsumext")  # 1/2 - 1/3
    succeeded_summary(unscored)  # a Lead-3 summary: no model's uncertainty to rank by
    act(staff_client, labelled, "in", 0)
    response = staff_client.get(reverse("admin:jobs_document_label_next"))
    rows = [r for r, _ in response.context["rows"]]
    assert [r.document for r in rows] == [unsure, sure, unscored]
    assert [r.margin for r in rows][:2] == pytest.approx([1 / 6, 0.5], abs=1e-5)
    html = response.content.decode()
    assert "3 unlabelled documents" in html and "no scores" in html
    # Each row opens the labelling page in queue mode, whose n key goes on down the queue.
    assert label_page(unsure, queue=True) in html
    page = staff_client.get(label_page(unsure, queue=True))
    assert page.context["next_document_url"] == label_page(sure, queue=True)
    assert 'data-key="n"' in page.content.decode()
    # The documents list links the queue; a document whose labels were all undone is back.
    changelist = staff_client.get(reverse("admin:jobs_document_changelist")).content.decode()
    assert reverse("admin:jobs_document_label_next") in changelist
    act(staff_client, labelled, "undo")
    labelled.refresh_from_db()
    assert labelled.split in ("train", "validation")  # labelling gave it a split
    rows = staff_client.get(reverse("admin:jobs_document_label_next")).context["rows"]
    assert labelled in [r.document for r, _ in rows]


def test_staff_move_documents_between_splits_by_action_and_form(staff_client, user):
    a, b = upload(user, "One. Two."), upload(user, "Three. Four.")
    response = staff_client.post(
        reverse("admin:jobs_document_changelist"),
        {"action": "move_to_validation", "_selected_action": [a.pk, b.pk]},
        follow=True,
    )
    assert "Moved 2 document(s) to split validation." in response.content.decode()
    assert set(Document.objects.values_list("split", flat=True)) == {"validation"}
    page = staff_client.get(reverse("admin:jobs_document_change", args=[a.pk]))
    html = page.content.decode()
    assert 'data-testid="split-form"' in html and label_page(a) in html
    staff_client.post(reverse("admin:jobs_document_split", args=[a.pk]), {"split": "train"})
    a.refresh_from_db()
    assert a.split == "train"
    response = staff_client.post(
        reverse("admin:jobs_document_split", args=[a.pk]), {"split": "holdout"}, follow=True
    )
    assert "Split must be one of: train, validation, test" in response.content.decode()
    a.refresh_from_db()
    assert a.split == "train"


def test_the_page_says_where_labelling_puts_the_text_and_what_a_label_does(
    staff_client, staff, user, settings
):
    """Review finding: the page named the hash rule's split even when a copy of the text
    was already in another split (where labelling really puts it), and said "the next
    training run learns it" of every label, also of a validation document's (by which
    the next run is only judged)."""
    settings.LABELLED_VALIDATION_FRACTION = 1.0  # the rule: validation
    DocumentFactory(owner=staff, reference_summary="Boats.", split="train")
    doc = upload(user)
    page = staff_client.get(label_page(doc))
    assert page.context["split_rule"] == "train"
    html = page.content.decode()
    assert "labelling it puts it in <strong>train</strong>" in html
    assert "the next training run learns it" in html
    act(staff_client, doc, "in", 0)
    doc.refresh_from_db()
    assert doc.split == "train"
    held_out = upload(user, "A validation text. It is judged by.")
    held_out_html = staff_client.get(label_page(held_out)).content.decode()
    assert "labelling it puts it in <strong>validation</strong>" in held_out_html
    assert "the next training run learns it" not in held_out_html
    assert "the next training run is judged by it" in held_out_html


def test_a_sentence_number_too_long_for_an_int_is_no_500(staff_client, user):
    """Review finding: ?s= with 5,000 digits made int() raise in the page and the actions."""
    doc = upload(user)
    huge = "1" * 5000
    assert staff_client.get(label_page(doc) + f"?s={huge}").status_code == 200
    response = staff_client.post(
        reverse("admin:jobs_document_label_action", args=[doc.pk, "in"]) + f"?s={huge}"
    )
    assert response.status_code == 302
    assert not LabelOverride.objects.exists()
