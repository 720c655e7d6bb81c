"""Staff do their whole job from the admin, in a real browser; non-staff get nowhere.

One long scenario rather than many short ones: it trains a real (tiny) model
once and walks every page with it, in under a minute. Screenshots of each page
go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
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
from jobs.workers import train as train_worker
from ml.text.sentences import split_sentences
from tests.factories import DocumentFactory, SummaryFactory, UserFactory
from tests.jobs.admin.helpers import ensure_retrain_schedule
from tests.jobs.training_fixtures import make_corpus, tiny_params

from .conftest import login, shoot

REFERENCE = "Organisers said two thousand people lined the banks.\nThe festival ends on Monday."


def client_document(owner):
    """A client's document with a finished lead3 summary and a failed one."""
    document = DocumentFactory(owner=owner, title="River festival", reference_summary=REFERENCE)
    spans = split_sentences(document.text)
    SummaryFactory(
        document=document,
        status=JobStatus.SUCCEEDED,
        model="lead3",
        model_version="builtin",
        sentences=[
            {
                "index": i,
                "text": s.text,
                "start": s.start,
                "end": s.end,
                "score": round(1 / (i + 1), 6),
                "selected": i < 2,
            }
            for i, s in enumerate(spans)
        ],
        summary_text=" ".join(s.text for s in spans[:2]),
        finished_at=timezone.now(),
    )
    failed = SummaryFactory(
        document=document,
        status=JobStatus.FAILED,
        model="textrank",
        attempts=3,
        error="RuntimeError: the worker ran out of memory",
    )
    return document, failed


@pytest.mark.django_db(transaction=True)
def test_staff_do_their_whole_job_in_the_dashboard(
    page, live_server, tensorboard, settings, tmp_path
):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TRAINING_DEVICE = "cpu"
    settings.PROMOTION_TOLERANCE = 100.0  # the tiny model need not beat what serves here
    staff = UserFactory(username="ada", is_staff=True, is_superuser=True)
    make_corpus(staff, val=30)  # the gate's PROMOTION_MIN_DOCUMENTS validation documents
    document, failed = client_document(staff)
    DocumentFactory(owner=UserFactory(username="grace"), title="Another owner's notes")
    older_checkpoint = tmp_path / "older"
    older_checkpoint.mkdir()
    older = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir=str(older_checkpoint),
        metrics={"val_rouge1": 30.0, "val_rouge2": 10.0, "val_rougeLsum": 27.0, "val_rouge": 22.3},
    )

    # --- log in ---------------------------------------------------------------------
    login(page, "ada")
    expect(page.locator("#site-name")).to_contain_text("Summarizer staff dashboard")
    for model in (
        "Documents",
        "Summaries",
        "Training runs",
        "Model versions",
        "Misclassified sentences",
    ):
        expect(page.locator("#content-main")).to_contain_text(model)
    expect(page.get_by_test_id("overview")).to_contain_text("1 failed summaries")
    shoot(page, "01-index")

    # --- documents: search, filters, highlighted text with ROUGE --------------------------
    page.goto("/admin/jobs/document/?has_reference=yes&q=festival")
    expect(page.locator("#result_list")).to_contain_text("River festival")
    expect(page.locator("#changelist-filter")).to_contain_text("By split")
    expect(page.locator("#changelist-filter")).to_contain_text("By owner")
    page.click("#result_list >> text=River festival")
    text = page.get_by_test_id("document-text")
    expect(text.locator(".jobs-sentence")).to_have_count(len(split_sentences(document.text)))
    expect(text.locator(".jobs-selected")).to_have_count(2)
    expect(page.get_by_test_id("reference")).to_contain_text("two thousand people")
    expect(page.get_by_test_id("rouge")).to_contain_text("ROUGE-2")
    # The top sentence is shaded darker than the last one: the score is visible.
    shades = text.locator(".jobs-sentence").evaluate_all(
        "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    alpha = [float(re.findall(r"[\d.]+", c)[3]) for c in shades]
    assert alpha[0] > alpha[-1]
    shoot(page, "02-document")

    # --- summaries: read-only, filters, the error, requeue ---------------------------------
    page.goto("/admin/jobs/summary/?status__exact=failed")
    expect(page.locator("#result_list")).to_contain_text("ran out of memory")
    expect(page.locator("#changelist-filter")).to_contain_text("By model version")
    page.check(f"input[name=_selected_action][value='{failed.pk}']")
    page.select_option("select[name=action]", "requeue")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Requeued 1 of 1 summaries")
    failed.refresh_from_db()
    assert failed.status == JobStatus.QUEUED
    shoot(page, "03-summaries")

    # --- training: launch from the button, train, see it ----------------------------------
    page.goto("/admin/jobs/trainingrun/")
    page.get_by_test_id("launch-retraining").click()
    expect(page.locator("h1")).to_have_text("Launch retraining")
    params = tiny_params()
    max_steps = params.pop("max_steps")
    page.fill("#id_max_steps", str(max_steps))
    page.fill("#id_extra", json.dumps(params))
    shoot(page, "04-launch-form")
    page.click("input[name=_launch]")
    expect(page.locator(".messagelist")).to_contain_text("Queued")
    run = TrainingRun.objects.get()
    assert (run.status, run.triggered_by, run.params["max_steps"]) == (
        JobStatus.QUEUED,
        staff,
        max_steps,
    )
    expect(page.locator(".jobs-status").first).to_have_text("Queued")

    train_worker.run(run.pk)  # what the training worker does, in-process
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    page.goto(f"/admin/jobs/trainingrun/{run.pk}/change/")
    expect(page.locator(".jobs-status").first).to_have_text("Succeeded")
    expect(page.locator(".jobs-progress").first).to_contain_text(f"{max_steps} / {max_steps} steps")
    metrics = page.get_by_test_id("metrics")
    expect(metrics).to_contain_text("Lead-3")
    expect(metrics).to_contain_text("TextRank")
    lead3 = metrics.locator("tr.jobs-mean td[data-column=lead3]")
    expect(lead3).not_to_have_text("–")
    charts = page.get_by_test_id("charts").locator("svg")
    expect(charts).to_have_count(2)
    expect(charts.first.locator("polyline[data-series='training loss']")).to_have_count(1)
    shoot(page, "05-run")

    # --- TensorBoard: the run's link answers, through the staff-only proxy ---------------
    tensorboard.wait_ready()
    with page.context.expect_page() as opened:
        page.locator("a.jobs-tensorboard").first.click()
    board = opened.value
    board.wait_for_load_state()
    assert "/admin/jobs/trainingrun/tensorboard/" in board.url
    expect(board.get_by_text(f"run-{run.pk}", exact=True).first).to_be_visible(timeout=45_000)
    # A chart card of the run (the run's name in its legend, beside the run selector's).
    expect(board.get_by_text(f"run-{run.pk}", exact=True)).not_to_have_count(1, timeout=30_000)
    shoot(board, "06-tensorboard")
    # The run's scalars come through the proxy with the browser's staff session.
    tags = board.request.get("/admin/jobs/trainingrun/tensorboard/data/plugin/scalars/tags")
    assert tags.ok
    assert "train/loss" in tags.json()[f"run-{run.pk}"]
    board.close()

    # --- misclassified sentences: context, filters, flip a label ---------------------------
    errors = SentenceError.objects.filter(run=run)
    assert errors.exists(), "the tiny run should misclassify some validation sentences"
    page.goto("/admin/jobs/sentenceerror/")
    open_table = page.get_by_test_id("open-per-run")
    expect(open_table).to_contain_text(f"run {run.pk}")
    # The run reports sentences of its training documents too; here, validation ones.
    assert errors.filter(split="train").exists() and errors.filter(split="validation").exists()
    page.goto(
        f"/admin/jobs/sentenceerror/?run__id__exact={run.pk}&reviewed=no&split__exact=validation&o=3"
    )
    expect(page.locator("#result_list")).to_contain_text("how the next run is judged")
    expect(page.locator("#result_list .jobs-context mark").first).to_be_visible()
    expect(page.locator("#changelist-filter")).to_contain_text("By model probability")
    first_row = page.locator("#result_list tbody tr").first
    error_id = int(first_row.locator("input[name=_selected_action]").get_attribute("value"))
    first_row.locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "flip_labels")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text(
        "Flipped the gold label of 1 sentence: 1 in validation documents (the next run is "
        "judged by them, it does not learn them)."
    )
    flipped = SentenceError.objects.get(pk=error_id)
    assert flipped.review_status == ReviewStatus.FLIPPED and flipped.reviewed_by == staff
    override = LabelOverride.objects.get(
        document=flipped.document, sentence_index=flipped.sentence_index
    )
    assert override.label == 1 - flipped.label
    shoot(page, "07-misclassified")
    # The document link opens the review page: the run's score on every sentence.
    page.locator("#result_list td.field-review_link a").first.click()
    expect(page.get_by_test_id("why")).to_contain_text("score")
    scored = page.get_by_test_id("document-text").locator(".jobs-score")
    expect(scored.first).to_be_visible()
    shoot(page, "07b-review-page")

    # --- model versions: promote with a confirmation step, then roll back -------------------
    new_version = ModelVersion.objects.get(run=run)
    assert (
        new_version.is_active
    )  # the gate promoted the first trained version (vs the zero-label default)
    page.goto("/admin/jobs/modelversion/")
    expect(page.locator("#result_list")).to_contain_text(new_version.label)
    page.goto(f"/admin/jobs/modelversion/{older.pk}/change/")
    page.click("text=Promote…")
    expect(page.locator("h1")).to_contain_text(f"Promote {older}?")
    older.refresh_from_db()
    assert not older.is_active  # the confirmation page changed nothing
    shoot(page, "08-promote-confirm")
    page.get_by_test_id("confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("is now the active bertsumext model")
    older.refresh_from_db()
    new_version.refresh_from_db()
    assert older.is_active and not new_version.is_active and older.promoted_by == staff
    page.click("text=Roll back…")
    page.get_by_test_id("confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("Rolled back")
    new_version.refresh_from_db()
    assert new_version.is_active
    shoot(page, "09-version")

    # --- schedules: django-celery-beat's admin for the retraining schedule ---------------
    ensure_retrain_schedule()
    page.goto("/admin/jobs/trainingrun/")
    page.click("text=Retraining schedule")
    page.click("text=Retrain BertSumExt when there is new labelled data")
    expect(page.locator("#id_task, #id_regtask").first).to_be_visible()
    shoot(page, "10-schedule")


@pytest.mark.django_db(transaction=True)
def test_non_staff_reach_none_of_it(page, live_server, settings):
    settings.TENSORBOARD_INTERNAL_URL = "http://127.0.0.1:9"  # a 502 would mean it got through
    user = UserFactory(username="client", is_staff=False)
    login(page, "client")  # the admin's login form refuses non-staff accounts
    expect(page.locator(".errornote")).to_contain_text("staff account")
    shoot(page, "11-non-staff-login")

    # Logged in anyway (a session from elsewhere), they are still sent to the login page.
    session = Client()
    session.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
    )
    for path in (
        "/admin/",
        "/admin/jobs/document/",
        "/admin/jobs/summary/",
        "/admin/jobs/trainingrun/",
        "/admin/jobs/trainingrun/launch/",
        "/admin/jobs/trainingrun/tensorboard/",
        "/admin/jobs/trainingrun/tensorboard/data/runs",
        "/admin/jobs/modelversion/",
        "/admin/jobs/modelversion/rollback/bertsumext/",
        "/admin/jobs/sentenceerror/",
        "/admin/django_celery_beat/periodictask/",
    ):
        response = page.goto(path)
        assert response.ok and "/admin/login/" in page.url, path
        expect(page.locator(".errornote")).to_contain_text("not authorized to access this page")
    shoot(page, "12-non-staff-refused")
