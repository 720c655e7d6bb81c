"""A reviewer's keyboard flow in a real Chromium, and admin tables at 1,400 px."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs.models import (
    JobStatus,
    LabelOverride,
    ModelVersion,
    ReviewStatus,
    SentenceError,
    TrainingRun,
)
from jobs.services.reviews import flip_label
from jobs.workers.training_data import build_training_data
from tests.factories import DocumentFactory, SummaryFactory, UserFactory
from tests.jobs.admin.helpers import make_review_run

from .conftest import login, shoot


def current_item(page) -> int:
    return int(page.get_by_test_id("current").get_attribute("data-item"))


def press(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.mark.django_db(transaction=True)
def test_a_reviewer_clears_50_sentences_by_keyboard_and_the_next_run_is_judged_by_them(page):
    staff = UserFactory(username="ada", is_staff=True, is_superuser=True)
    run, errors = make_review_run(staff, documents=10)
    assert len(errors) == 50
    login(page, "ada")
    page.goto(f"/admin/jobs/sentenceerror/review/{run.pk}/")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("undo")
    expect(page.get_by_test_id("review-counts")).to_contain_text("50 open sentences")
    expect(page.get_by_test_id("why")).to_have_text("rank 1 of 3 selected, score 0.90")
    # These are validation documents: the page says a flip changes how the next run is
    # judged, not what it learns (what the end of this test checks).
    expect(page.get_by_test_id("flip-effect")).to_contain_text(
        "a flip changes how the next run is judged"
    )
    expect(page.get_by_test_id("flip-effect")).to_contain_text("not what it learns")
    expect(page.get_by_test_id("reference")).to_contain_text("two thousand people")
    expect(page.get_by_test_id("document-text").locator(".jobs-score")).to_have_count(5)
    shoot(page, "20-review-queue")

    # Browse with the keys first: next and previous change the item, decide nothing.
    first = current_item(page)
    press(page, "j")
    assert current_item(page) == errors[1].pk
    press(page, "ArrowLeft")
    assert current_item(page) == first

    decided: dict[int, str] = {}
    for n in range(50):
        item = current_item(page)
        assert item not in decided, "the page came back to a decided sentence"
        key = "f" if n % 3 == 0 else "c"
        press(page, key)
        decided[item] = "flip" if key == "f" else "confirm"
    expect(page.get_by_test_id("all-reviewed")).to_be_visible()
    expect(page.get_by_test_id("review-counts")).to_contain_text("0 open sentences")
    assert not SentenceError.objects.filter(run=run, review_status=ReviewStatus.OPEN).exists()

    press(page, "u")  # undo the last decision: that sentence is open again and current
    undone = current_item(page)
    assert undone == errors[-1].pk
    expect(page.get_by_test_id("item-status")).to_have_text("Open")
    expect(page.get_by_test_id("history")).to_contain_text("Undid a decision")
    shoot(page, "21-review-undone")
    del decided[undone]

    # The next run validates with exactly these corrections and trains on none of them: a
    # flip sets the opposite of the gold label, a confirm or an undone decision leaves the
    # oracle's label.
    by_pk = {e.pk: e for e in errors}
    expected: dict[str, dict[int, int]] = {}
    for pk, action in decided.items():
        if action == "flip":
            e = by_pk[pk]
            expected.setdefault(str(e.document_id), {})[e.sentence_index] = 1 - e.label
    data = build_training_data(TrainingRun(kind="bertsumext"))  # the default splits
    assert not data.train
    labels = {ex.id: ex.labels for ex in data.val if ex.labels}
    assert labels == expected
    flips = sum(len(v) for v in expected.values())
    assert data.summary["label_overrides"] == flips
    assert data.manifest["validation"]["corrections"] == flips
    assert data.manifest["train"]["corrections"] == 0
    assert LabelOverride.objects.filter(created_by=staff).count() == len(
        [a for a in decided.values() if a == "flip"]
    )


LONG = "RuntimeError: " + "a long failure message that wraps " * 12


@pytest.mark.django_db(transaction=True)
def test_admin_tables_show_their_last_column_at_1400_px(page):
    staff = UserFactory(username="ada", is_staff=True, is_superuser=True)
    run = TrainingRun.objects.create(
        kind="bertsumext", status=JobStatus.FAILED, error=LONG, metrics={"val_rouge": 30.0}
    )
    ModelVersion.objects.create(
        kind="bertsumext",
        run=run,
        checkpoint_dir="/tmp/x",
        gate_note="not promoted: " + "below Lead-3 by 0.8 on the validation set " * 6,
        promoted_at=timezone.now(),
    )
    document = DocumentFactory(owner=staff, title="T " * 60)
    SummaryFactory(document=document, status=JobStatus.FAILED, error=LONG)
    _, errors = make_review_run(staff, documents=1)
    flip_label(errors[0], staff)
    login(page, "ada")
    for path, last in (
        ("/admin/jobs/trainingrun/", "TensorBoard"),
        ("/admin/jobs/modelversion/", "Gate note"),
        ("/admin/jobs/summary/", "Error"),
        ("/admin/jobs/sentenceerror/", "Run"),
        ("/admin/jobs/labeloverride/", ""),  # the Revert buttons' column has no title
    ):
        page.goto(path)
        header = page.locator("#result_list thead th").last
        expect(header).to_be_visible()
        if last:
            expect(header).to_contain_text(last, ignore_case=True)
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1400, (path, box)
        shoot(page, f"22-1400px-{path.strip('/').replace('/', '-')}")
    # "View site" goes to a page that exists, not to a DEBUG 404.
    # (Fetched, not opened: the docs page's own scripts are another test's business.)
    page.goto("/admin/")
    href = page.locator("#user-tools a:has-text('View site')").get_attribute("href")
    assert href == "/api/docs/"
    assert page.request.get(href).status == 200  # the admin session is enough
