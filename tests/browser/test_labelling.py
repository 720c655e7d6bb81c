"""Staff label a user-uploaded document by keyboard in a real Chromium (issue #22)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from jobs.models import Document, LabelOverride, TrainingRun
from jobs.services.documents import DocumentInput, submit_document
from jobs.services.manifests import labelled_documents
from jobs.workers.training_data import build_training_data
from tests.factories import ARTICLE, UserFactory
from tests.jobs.admin.helpers import succeeded_summary

from .conftest import login, shoot


def current(page) -> int:
    return int(page.get_by_test_id("current").get_attribute("data-index"))


def press(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.mark.django_db(transaction=True)
def test_staff_label_an_upload_by_keyboard_and_undo_one_label(page):
    UserFactory(username="ada", is_staff=True, is_superuser=True)
    client = UserFactory(username="client")
    upload = submit_document(client, DocumentInput(text=ARTICLE, summarize=False)).document
    succeeded_summary(upload, selected=(0, 1), model="bertsumext")
    login(page, "ada")

    # The label-next queue lists the upload and opens it for labelling.
    page.goto("/admin/jobs/document/label-next/")
    expect(page.get_by_test_id("label-next-count")).to_have_text("1 unlabelled document")
    page.get_by_test_id("label-next-table").get_by_role("link").first.click()
    expect(page.get_by_test_id("shortcuts")).to_contain_text("in the summary")
    assert current(page) == 0
    shoot(page, "30-labelling")

    press(page, "i")  # sentence 0 in the summary; the next sentence comes up
    assert current(page) == 1
    press(page, "o")
    press(page, "ArrowRight")  # browse: no label for sentence 2
    assert current(page) == 3
    press(page, "k")
    assert current(page) == 2
    press(page, "i")
    assert current(page) == 3
    press(page, "i")
    labels = dict(LabelOverride.objects.values_list("sentence_index", "label"))
    assert labels == {0: 1, 1: 0, 2: 1, 3: 1}

    press(page, "u")  # undo the last label: sentence 3 has none again and is current
    assert current(page) == 3
    expect(page.get_by_test_id("current-label")).to_have_text("none")
    expect(page.get_by_test_id("history")).to_contain_text("Undid a decision")
    expect(page.get_by_test_id("label-counts")).to_contain_text("3 staff labels")
    shoot(page, "31-labelling-undone")

    # The labelled upload is training data now: its split by the rule, its labels exact.
    upload = Document.objects.get(pk=upload.pk)
    assert upload.split in ("train", "validation")
    expect(page.get_by_test_id("split")).to_have_text(upload.get_split_display())
    assert upload in labelled_documents(upload.split)
    run = TrainingRun(kind="bertsumext", train_split=upload.split, val_split=upload.split)
    [example] = [ex for ex in build_training_data(run).train if ex.id == str(upload.pk)]
    assert example.labels == {0: 1, 1: 0, 2: 1, 3: 0, 4: 0}

    page.goto("/admin/jobs/document/label-next/")
    expect(page.get_by_test_id("label-next-count")).to_have_text("0 unlabelled documents")
