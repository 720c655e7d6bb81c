"""The staff dashboard through Django's test client: who may see it, what each page
shows and what each action changes. tests/browser drives the same pages in Chromium."""

from __future__ import annotations

import http.server
import importlib
import json
import threading
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs import charts, services
from jobs.models import (
    ErrorKind,
    JobStatus,
    LabelOverride,
    ModelVersion,
    ReviewStatus,
    SentenceError,
    Summary,
    TrainingRun,
)
from jobs.services import dashboard
from ml.text.rouge import score_summary
from ml.text.sentences import split_sentences
from tests.factories import ARTICLE, DocumentFactory, SummaryFactory, UserFactory
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = pytest.mark.django_db

REFERENCE = "Organisers said two thousand people lined the banks.\nThe festival ends Monday."


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def succeeded_summary(document, selected=(0, 2), model="lead3"):
    spans = split_sentences(document.text)
    sentences = [
        {
            "index": i,
            "text": s.text,
            "start": s.start,
            "end": s.end,
            "score": round(1.0 / (i + 1), 6),
            "selected": i in selected,
        }
        for i, s in enumerate(spans)
    ]
    return SummaryFactory(
        document=document,
        status=JobStatus.SUCCEEDED,
        model=model,
        model_version="builtin",
        sentences=sentences,
        summary_text=" ".join(spans[i].text for i in selected),
        finished_at=timezone.now(),
    )


def make_errors(owner, count=3):
    """A finished run with misclassified sentences (as run_training stores them)."""
    run = TrainingRun.objects.create(
        kind="bertsumext",
        status=JobStatus.SUCCEEDED,
        progress_step=6,
        progress_total=6,
        metrics={"val_rouge": 30.0, "lead3_rouge1": 35.0},
    )
    document = DocumentFactory(owner=owner, split="validation", reference_summary=REFERENCE)
    spans = split_sentences(document.text)
    errors = [
        SentenceError.objects.create(
            run=run,
            document=document,
            sentence_index=i,
            text=spans[i].text,
            start=spans[i].start,
            end=spans[i].end,
            label=1 if i % 2 else 0,
            probability=[0.95, 0.05, 0.55][i % 3],
            kind=ErrorKind.FALSE_POSITIVE if i % 2 == 0 else ErrorKind.FALSE_NEGATIVE,
        )
        for i in range(count)
    ]
    return run, document, errors


def make_version(tmp_path, kind="bertsumext", active=False, name="v", **metrics):
    checkpoint = tmp_path / name
    checkpoint.mkdir()
    return ModelVersion.objects.create(
        kind=kind,
        checkpoint_dir=str(checkpoint),
        metrics={"val_rouge1": 40.0, "val_rouge2": 18.0, "val_rougeLsum": 36.0, **metrics},
        is_active=active,
        promoted_at=timezone.now() if active else None,
    )


# --- who may see it ---------------------------------------------------------------------


def dashboard_urls(run, version, error, document, summary):
    return [
        reverse("admin:index"),
        reverse("admin:jobs_document_changelist"),
        reverse("admin:jobs_document_change", args=[document.pk]),
        reverse("admin:jobs_summary_changelist"),
        reverse("admin:jobs_summary_change", args=[summary.pk]),
        reverse("admin:jobs_trainingrun_changelist"),
        reverse("admin:jobs_trainingrun_change", args=[run.pk]),
        reverse("admin:jobs_trainingrun_launch"),
        reverse("admin:jobs_trainingrun_tensorboard"),
        reverse("admin:jobs_trainingrun_tensorboard", args=["data/runs"]),
        reverse("admin:jobs_modelversion_changelist"),
        reverse("admin:jobs_modelversion_change", args=[version.pk]),
        reverse("admin:jobs_modelversion_promote", args=[version.pk]),
        reverse("admin:jobs_modelversion_rollback", args=["bertsumext"]),
        reverse("admin:jobs_sentenceerror_changelist"),
        reverse("admin:jobs_sentenceerror_change", args=[error.pk]),
        reverse("admin:jobs_labeloverride_changelist"),
        reverse("admin:django_celery_beat_periodictask_changelist"),
    ]


@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_non_staff_reach_none_of_the_dashboard(who, user, staff, tmp_path, settings):
    # If the proxy were reachable it would hit this (closed) port and answer 502, not 302.
    settings.TENSORBOARD_INTERNAL_URL = "http://127.0.0.1:9"
    run, document, errors = make_errors(staff)
    version = make_version(tmp_path)
    summary = succeeded_summary(document)
    client = Client()
    if who == "non-staff":
        client.force_login(user)
    for url in dashboard_urls(run, version, errors[0], document, summary):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url

    # Nor can they change anything by posting.
    make_corpus(staff)
    queued = TrainingRun.objects.create(kind="bertsumext")
    posts = [
        (reverse("admin:jobs_modelversion_promote", args=[version.pk]), {"confirm": "on"}),
        (reverse("admin:jobs_trainingrun_cancel", args=[queued.pk]), {}),
        (reverse("admin:jobs_trainingrun_launch"), {"kind": "bertsumext", "train_split": "train"}),
        (
            reverse("admin:jobs_sentenceerror_changelist"),
            {"action": "flip_labels", "_selected_action": [e.pk for e in errors]},
        ),
        (reverse("admin:jobs_trainingrun_tensorboard", args=["data/plugin/x"]), {"q": "1"}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    version.refresh_from_db()
    queued.refresh_from_db()
    assert not version.is_active
    assert queued.status == JobStatus.QUEUED
    assert TrainingRun.objects.count() == 2
    assert not LabelOverride.objects.exists()
    assert not SentenceError.objects.exclude(review_status=ReviewStatus.OPEN).exists()


def test_staff_without_change_permission_may_look_but_not_act(tmp_path):
    viewer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.set(
        Permission.objects.filter(content_type__app_label="jobs", codename__startswith="view_")
    )
    version = make_version(tmp_path)
    client = Client()
    client.force_login(viewer)
    assert (
        client.get(reverse("admin:jobs_modelversion_change", args=[version.pk])).status_code == 200
    )
    promote = reverse("admin:jobs_modelversion_promote", args=[version.pk])
    page = client.get(reverse("admin:jobs_modelversion_change", args=[version.pk]))
    assert promote not in page.content.decode()  # no button
    assert client.post(promote, {"confirm": "on"}).status_code == 403
    assert client.get(reverse("admin:jobs_trainingrun_launch")).status_code == 403
    version.refresh_from_db()
    assert not version.is_active


# --- documents and summaries --------------------------------------------------------------


def test_document_page_highlights_the_latest_summary_and_scores_it(staff_client, staff):
    document = DocumentFactory(owner=staff, reference_summary=REFERENCE)
    succeeded_summary(document, selected=(4,))  # an older summary
    latest = succeeded_summary(document, selected=(0, 2))
    LabelOverride.objects.create(document=document, sentence_index=3, label=1)

    response = staff_client.get(reverse("admin:jobs_document_change", args=[document.pk]))
    assert response.status_code == 200
    view = response.context["view"]
    assert view.summary == latest
    assert [s.index for s in view.selected] == [0, 2]
    # The segments put the whole text back together, sentences at their offsets.
    assert "".join(seg.text for seg in view.segments) == document.text
    intensities = [seg.sentence.intensity for seg in view.segments if seg.sentence]
    assert intensities[0] == 1.0 and intensities == sorted(intensities, reverse=True)
    spans = split_sentences(ARTICLE)
    expected = score_summary([spans[0].text, spans[2].text], REFERENCE)
    assert view.rouge == pytest.approx(expected)
    html = response.content.decode()
    assert html.count('aria-label="selected"') == 2  # ticks in the text
    assert "jobs-override" in html  # sentence 3 carries a staff label
    assert f"{expected['rouge1']:.2f}" in html
    assert "Organisers said two thousand people lined the banks." in html  # the reference

    # ?summary= shows an older summary on the same text.
    older = document.summaries.order_by("id").first()
    response = staff_client.get(
        reverse("admin:jobs_document_change", args=[document.pk]) + f"?summary={older.pk}"
    )
    assert [s.index for s in response.context["view"].selected] == [4]


def test_document_without_reference_or_summary_shows_the_plain_text(staff_client, staff):
    document = DocumentFactory(owner=staff, text="One <b>bold</b> claim. Another one here.")
    response = staff_client.get(reverse("admin:jobs_document_change", args=[document.pk]))
    html = response.content.decode()
    assert response.context["view"].rouge is None
    assert "no finished summary yet" in html and "has no reference summary" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # document text is escaped


def test_document_search_and_filters(staff_client, staff):
    other = UserFactory(username="other-owner")
    with_ref = DocumentFactory(
        owner=staff, title="Harbour report", split="train", reference_summary="x"
    )
    without = DocumentFactory(owner=other, title="Market notes", split="validation")
    url = reverse("admin:jobs_document_changelist")

    def listed(query):
        response = staff_client.get(url + query)
        assert response.status_code == 200
        return set(response.context["cl"].result_list)

    assert listed("?has_reference=yes") == {with_ref}
    assert listed("?has_reference=no") == {without}
    assert listed("?split__exact=validation") == {without}
    assert listed(f"?owner__id__exact={other.pk}") == {without}
    assert listed("?q=harbour") == {with_ref}


def test_summary_list_filters_shows_errors_and_requeues(staff_client, staff):
    failed = SummaryFactory(status=JobStatus.FAILED, model="textrank", error="ValueError: boom")
    ok = succeeded_summary(DocumentFactory(owner=staff))
    url = reverse("admin:jobs_summary_changelist")
    response = staff_client.get(url + "?status__exact=failed")
    assert list(response.context["cl"].result_list) == [failed]
    assert "ValueError: boom" in response.content.decode()
    assert list(staff_client.get(url + "?model__exact=lead3").context["cl"].result_list) == [ok]
    assert list(staff_client.get(url + "?model_version=builtin").context["cl"].result_list) == [ok]

    page = staff_client.get(reverse("admin:jobs_summary_change", args=[failed.pk]))
    assert 'data-testid="summary-error"' in page.content.decode()
    assert b"Save" not in page.content  # read-only

    response = staff_client.post(
        url, {"action": "requeue", "_selected_action": [failed.pk, ok.pk]}, follow=True
    )
    assert "Requeued 1 of 2 summaries" in response.content.decode()
    failed.refresh_from_db()
    ok.refresh_from_db()
    assert failed.status == JobStatus.QUEUED and failed.error == ""
    assert ok.status == JobStatus.SUCCEEDED


# --- misclassified sentences ---------------------------------------------------------------


def test_sentence_errors_in_context_with_filters(staff_client, staff):
    run, document, errors = make_errors(staff)
    url = reverse("admin:jobs_sentenceerror_changelist")
    response = staff_client.get(url)
    html = response.content.decode()
    spans = split_sentences(document.text)
    # Sentence 1 shown between its neighbours.
    before, sentence, after = dashboard.sentence_context(errors[1])
    assert (before, sentence, after) == (spans[0].text, spans[1].text, spans[2].text)
    assert f'<mark class="jobs-context-fn">{spans[1].text}</mark>' in html
    assert response.context["runs_with_errors"][0][0].open_errors == 3

    def listed(query):
        return set(staff_client.get(url + query).context["cl"].result_list)

    assert listed("?kind__exact=fp") == {errors[0], errors[2]}
    assert listed("?probability=0.9-1") == {errors[0]}
    assert listed("?probability=0.5-0.7") == {errors[2]}
    assert listed(f"?run__id__exact={run.pk}") == set(errors)
    assert listed(f"?document__id__exact={document.pk}&reviewed=no") == set(errors)
    assert listed("?reviewed=yes") == set()


def test_flip_and_confirm_actions_feed_the_next_run(staff_client, staff):
    _, _, errors = make_errors(staff)
    url = reverse("admin:jobs_sentenceerror_changelist")
    response = staff_client.post(
        url,
        {"action": "flip_labels", "_selected_action": [errors[0].pk, errors[1].pk]},
        follow=True,
    )
    assert "Flipped the gold label of 2 sentences" in response.content.decode()
    overrides = {o.sentence_index: o.label for o in LabelOverride.objects.all()}
    assert overrides == {0: 1, 1: 0}  # each flipped from its gold label
    staff_client.post(url, {"action": "confirm_labels", "_selected_action": [errors[2].pk]})
    statuses = dict(SentenceError.objects.values_list("sentence_index", "review_status"))
    assert statuses == {0: "flipped", 1: "flipped", 2: "confirmed"}
    # The runs list counts what is still open; the next run's data carries the labels.
    runs = staff_client.get(reverse("admin:jobs_trainingrun_changelist")).context["cl"].result_list
    assert [(r.open_errors, r.flipped_errors, r.all_errors) for r in runs] == [(0, 2, 3)]
    new_run = TrainingRun(kind="bertsumext", train_split="validation", val_split="validation")
    data = services.build_training_data(new_run)
    assert data.summary["label_overrides"] >= 2
    assert staff_client.get(url + "?reviewed=no").context["cl"].result_count == 0


# --- training runs ----------------------------------------------------------------------------


def test_launch_retraining_form(staff_client, staff, settings, tmp_path):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    url = reverse("admin:jobs_trainingrun_launch")
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'placeholder="default: 4"' in page.content.decode()  # the BertSumExt recipe's batch

    # No data yet: the service's message is shown, nothing is queued.
    response = staff_client.post(
        url, {"kind": "bertsumext", "train_split": "train", "val_split": "validation"}
    )
    assert "no documents in split &#x27;train&#x27;" in response.content.decode()
    make_corpus(staff)
    response = staff_client.post(
        url,
        {"kind": "bertsumext", "train_split": "train", "val_split": "validation", "extra": "{nope"},
    )
    assert "not valid JSON" in response.content.decode()
    response = staff_client.post(
        url,
        {
            "kind": "bertsumext",
            "train_split": "train",
            "val_split": "validation",
            "batch_size": "0",
        },
    )
    assert response.status_code == 200 and not TrainingRun.objects.exists()

    params = json.loads(json.dumps(tiny_params()))  # as the form receives it
    response = staff_client.post(
        url,
        {
            "kind": "bertsumext",
            "train_split": "train",
            "val_split": "validation",
            "max_steps": "4",
            "extra": json.dumps(params),
        },
    )
    run = TrainingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:jobs_trainingrun_change", args=[run.pk])
    assert run.status == JobStatus.QUEUED and run.triggered_by == staff
    assert run.params == {**params, "max_steps": 4}  # the field wins over the JSON

    # "Launch retraining like this" prefills the form from the run.
    form = staff_client.get(url + f"?from_run={run.pk}").context["form"]
    assert (form.initial["max_steps"], form.initial["batch_size"]) == (4, 2)
    assert json.loads(form.initial["extra"])["precision"] == "fp32"

    # And a second one is refused while this one is queued.
    response = staff_client.post(
        url, {"kind": "bertsumext", "train_split": "train", "val_split": "validation"}
    )
    assert "already queued or running" in response.content.decode()


def test_launch_like_action_and_cancel_button(staff_client, staff):
    run = TrainingRun.objects.create(kind="bertsumext", params={"lr": 0.001})
    changelist = reverse("admin:jobs_trainingrun_changelist")
    response = staff_client.post(
        changelist, {"action": "launch_like", "_selected_action": [run.pk]}
    )
    assert response["Location"] == reverse("admin:jobs_trainingrun_launch") + f"?from_run={run.pk}"

    page = staff_client.get(reverse("admin:jobs_trainingrun_change", args=[run.pk]))
    assert "Cancel run" in page.content.decode()
    assert '<meta http-equiv="refresh"' in page.content.decode()  # queued: the page follows it
    staff_client.post(reverse("admin:jobs_trainingrun_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    page = staff_client.get(reverse("admin:jobs_trainingrun_change", args=[run.pk]))
    assert "Cancel run" not in page.content.decode()


def test_run_page_shows_metrics_beside_baselines_and_history_charts(staff_client, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    logdir = tmp_path / "run-x"
    writer = SummaryWriter(log_dir=str(logdir))
    for step in range(1, 7):
        writer.add_scalar("train/loss", 2.0 / step, step)
    for step, rouge in ((3, 30.0), (6, 34.0)):
        writer.add_scalar("validation/rouge", rouge, step)
        writer.add_scalar("validation/rouge1", rouge + 5, step)
        writer.add_scalar("validation/loss", 1.0 / step, step)
    writer.close()
    metrics = {
        "val_rouge1": 39.0, "val_rouge2": 17.0, "val_rougeLsum": 36.0, "val_rouge": 34.0,
        "lead3_rouge1": 40.0, "lead3_rouge2": 17.5, "lead3_rougeLsum": 36.6,
        "textrank_rouge1": 35.0, "textrank_rouge2": 13.0, "textrank_rougeLsum": 31.0,
        "best_step": 6,
    }  # fmt: skip
    run = TrainingRun.objects.create(
        kind="bertsumext",
        status=JobStatus.SUCCEEDED,
        progress_step=6,
        progress_total=6,
        metrics=metrics,
        tensorboard_logdir=str(logdir),
    )
    response = staff_client.get(reverse("admin:jobs_trainingrun_change", args=[run.pk]))
    html = response.content.decode()
    rows = {row.name: row for row in response.context["metrics_rows"]}
    assert rows["ROUGE-1"].values == {
        "val": 39.0, "active_val": None, "lead3": 40.0, "textrank": 35.0
    }  # fmt: skip
    assert rows["Mean"].values["lead3"] == pytest.approx((40.0 + 17.5 + 36.6) / 3)
    assert rows["ROUGE-1"].delta_vs["textrank"] == pytest.approx(4.0)
    assert "(+4.00)" in html and "(-1.00)" in html
    assert html.count('class="jobs-chart"') == 2
    assert 'data-series="training loss"' in html and 'data-series="Lead-3 mean"' in html
    assert 'aria-valuenow="100"' in html  # progress bar full
    assert "<meta http-equiv" not in html  # finished: no refresh
    # The history is what was logged, step by step.
    history = dashboard.run_history(run)
    assert history["validation/rouge"] == [(3, 30.0), (6, 34.0)]
    assert len(history["train/loss"]) == 6

    listing = staff_client.get(reverse("admin:jobs_trainingrun_changelist")).content.decode()
    assert "34.00" in listing and f"?runFilter=%5Erun-{run.pk}%24" in listing


def test_nice_ticks_cover_the_range():
    assert charts.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = charts.nice_ticks(13.2, 47.9)
    assert ticks[0] <= 13.2 and ticks[-1] >= 47.9 and len(ticks) <= 8
    assert charts.nice_ticks(5.0, 5.0)[0] <= 5.0
    assert charts.line_chart("empty", [charts.Series("x", [], "#000")]) == ""


# --- model versions -----------------------------------------------------------------------------


def test_promote_needs_confirmation(staff_client, staff, tmp_path):
    active = make_version(tmp_path, active=True, name="a")
    candidate = make_version(tmp_path, name="b", val_rouge1=42.0)
    url = reverse("admin:jobs_modelversion_promote", args=[candidate.pk])
    page = staff_client.get(url)
    html = page.content.decode()
    assert f"Yes, promote {candidate}" in html and f"Active now: {active}" in html
    candidate.refresh_from_db()
    assert not candidate.is_active  # looking changes nothing

    staff_client.post(url, {"confirm": "on"})
    candidate.refresh_from_db()
    active.refresh_from_db()
    assert candidate.is_active and candidate.promoted_by == staff and not active.is_active


def test_rollback_confirmation_names_the_version_it_restores(staff_client, staff, tmp_path):
    first = make_version(tmp_path, name="a")
    second = make_version(tmp_path, name="b")
    services.promote(first, staff)
    services.promote(second, staff)
    url = reverse("admin:jobs_modelversion_rollback", args=["bertsumext"])
    page = staff_client.get(url)
    assert page.context["new"] == first and page.context["current"] == second
    response = staff_client.post(url, {"confirm": "on"})
    assert response["Location"] == reverse("admin:jobs_modelversion_change", args=[first.pk])
    first.refresh_from_db()
    assert first.is_active
    # Nothing earlier to go back to: the page says so and offers no button.
    page = staff_client.get(url).content.decode()
    assert "nothing to roll back to" in page and 'data-testid="confirm"' not in page
    assert (
        staff_client.get(reverse("admin:jobs_modelversion_rollback", args=["gpt"])).status_code
        == 404
    )


def test_version_list_shows_metrics_and_active_flag(staff_client, tmp_path):
    make_version(
        tmp_path, active=True, name="a", lead3_rouge1=38.0, lead3_rouge2=16.0, lead3_rougeLsum=34.0
    )
    html = staff_client.get(reverse("admin:jobs_modelversion_changelist")).content.decode()
    assert "40.00" in html and "18.00" in html and "+2.00" in html
    assert 'alt="True"' in html  # the admin's boolean icon for is_active


# --- TensorBoard proxy ---------------------------------------------------------------------------


class FakeTensorBoard(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self, body: bytes):
        FakeTensorBoard.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere/")
            self.end_headers()
            return
        payload = b"x" * 200_000
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "tb=1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_tensorboard(settings):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeTensorBoard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TENSORBOARD_INTERNAL_URL = f"http://127.0.0.1:{server.server_address[1]}"
    FakeTensorBoard.seen = []
    yield FakeTensorBoard.seen
    server.shutdown()
    server.server_close()


def test_tensorboard_proxy_streams_and_keeps_credentials_here(staff, fake_tensorboard):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    base = reverse("admin:jobs_trainingrun_tensorboard")
    response = client.get(base + "data/runs?x=1&y=a%20b")
    assert response.status_code == 200 and response.streaming
    assert len(b"".join(response.streaming_content)) == 200_000
    assert "Set-Cookie" not in response.headers and "private" in response["Cache-Control"]
    seen = fake_tensorboard[-1]
    assert seen["path"] == "/data/runs?x=1&y=a%20b"
    assert not any(h.lower() in ("cookie", "authorization") for h in seen["headers"])

    # TensorBoard's time-series queries are POSTs without a Django CSRF token.
    response = client.post(
        base + "data/plugin/timeseries/timeSeries", "requests=%5B%5D",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200
    assert fake_tensorboard[-1]["body"] == b"requests=%5B%5D"

    response = client.get(base + "moved")
    assert response["Location"] == base + "elsewhere/"

    count = len(fake_tensorboard)
    assert client.get(base + "data/../../etc/passwd").status_code == 404
    assert client.put(base + "data/runs").status_code == 405
    assert len(fake_tensorboard) == count  # neither reached TensorBoard


def test_tensorboard_proxy_says_when_tensorboard_is_down(staff_client, settings):
    settings.TENSORBOARD_INTERNAL_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    response = staff_client.get(reverse("admin:jobs_trainingrun_tensorboard"))
    assert response.status_code == 502
    assert "TensorBoard is not available" in response.content.decode()


def ensure_retrain_schedule():
    """The schedule migration 0003 creates (a transactional test may have flushed it)."""
    from django.apps import apps

    migration = importlib.import_module("jobs.migrations.0003_retrain_schedule")
    migration.create_schedule(apps, None)


def test_schedule_admin_lists_the_retraining_schedule(staff_client):
    ensure_retrain_schedule()
    html = staff_client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content
    assert b"Retrain BertSumExt when there is new labelled data" in html


def test_every_dashboard_page_renders_for_staff(staff_client, staff, tmp_path, fake_tensorboard):
    run, document, errors = make_errors(staff)
    version = make_version(tmp_path, active=True)
    summary = succeeded_summary(document)
    for url in dashboard_urls(run, version, errors[0], document, summary):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    assert Path(version.checkpoint_dir).is_dir()
    assert Summary.objects.count() == 1


def test_launch_can_fine_tune_the_active_version(staff_client, staff, settings, tmp_path):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    make_corpus(staff)
    url = reverse("admin:jobs_trainingrun_launch")
    form = {"kind": "bertsumext", "train_split": "train", "val_split": "validation"}
    response = staff_client.post(url, {**form, "from_active": "on"})
    assert "no bertsumext version is active" in response.content.decode()
    assert not TrainingRun.objects.exists()

    active = make_version(tmp_path, active=True)
    response = staff_client.post(url, {**form, "from_active": "on", "encoder": "my/encoder"})
    assert response.status_code == 302
    run = TrainingRun.objects.get()
    assert run.params == {"init_from": active.checkpoint_dir, "model": {"encoder": "my/encoder"}}
    assert run.parent_version == active


def test_promoting_a_version_whose_checkpoint_is_gone_says_so(staff_client, tmp_path):
    version = make_version(tmp_path)
    Path(version.checkpoint_dir).rmdir()
    url = reverse("admin:jobs_modelversion_promote", args=[version.pk])
    response = staff_client.post(url, {"confirm": "on"}, follow=True)
    assert "checkpoint of bertsumext" in response.content.decode()
    version.refresh_from_db()
    assert not version.is_active


def test_front_page_overview(staff_client, staff, tmp_path):
    make_errors(staff)
    make_version(tmp_path, active=True, val_rouge=31.5)
    SummaryFactory(status=JobStatus.FAILED)
    running = TrainingRun.objects.create(
        kind="bertsumext", status=JobStatus.RUNNING, progress_step=30, progress_total=120
    )
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "<strong>3</strong> misclassified sentences to review" in html
    assert "<strong>1</strong> failed summaries" in html
    assert "validation ROUGE 31.50" in html
    assert f"BertSumExt run {running.pk}" in html and "30 / 120 steps" in html
    # The tiles' links filter the lists they name.
    queued = staff_client.get(
        reverse("admin:jobs_summary_changelist") + "?status__in=queued,running"
    )
    assert queued.status_code == 200

    viewer = UserFactory(is_staff=True)  # staff without permissions on the jobs models
    client = Client()
    client.force_login(viewer)
    assert 'data-testid="overview"' not in client.get(reverse("admin:index")).content.decode()
