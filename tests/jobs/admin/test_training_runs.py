"""Dashboard pages for training runs: launch, cancel, metrics and history charts."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from jobs.models import (
    JobStatus,
    TrainingRun,
)
from jobs.queries.runs import run_history
from tests.jobs.admin.helpers import make_version
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = pytest.mark.django_db


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
        "fallback_rouge1": 38.5, "fallback_rouge2": 16.0, "fallback_rougeLsum": 35.0,
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
        "val": 39.0, "active_val": None, "fallback": 38.5, "lead3": 40.0, "textrank": 35.0
    }  # fmt: skip
    # What serves while none is active, the first version's bar, has its column.
    assert rows["ROUGE-1"].delta_vs["fallback"] == pytest.approx(0.5)
    assert "Zero-label default" in html and "(+0.50)" in html
    assert rows["Mean"].values["lead3"] == pytest.approx((40.0 + 17.5 + 36.6) / 3)
    assert rows["ROUGE-1"].delta_vs["textrank"] == pytest.approx(4.0)
    assert "(+4.00)" in html and "(-1.00)" in html
    assert html.count('class="jobs-chart"') == 2
    assert 'data-series="training loss"' in html and 'data-series="Lead-3 mean"' in html
    assert 'aria-valuenow="100"' in html  # progress bar full
    assert "<meta http-equiv" not in html  # finished: no refresh
    # The history is what was logged, step by step.
    history = run_history(run)
    assert history["validation/rouge"] == [(3, 30.0), (6, 34.0)]
    assert len(history["train/loss"]) == 6

    listing = staff_client.get(reverse("admin:jobs_trainingrun_changelist")).content.decode()
    assert "34.00" in listing and f"?runFilter=%5Erun-{run.pk}%24" in listing


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


def test_the_launch_form_says_what_a_run_learns_from_and_how_it_is_judged(
    staff_client, staff, settings
):
    from jobs.services.reviews import set_label

    settings.PROMOTION_MIN_DOCUMENTS = 30
    settings.PROMOTION_TOLERANCE = 0.5
    docs = make_corpus(staff)
    set_label(docs[0], 1, 1, staff)  # corrects an oracle label of a training document
    html = staff_client.get(reverse("admin:jobs_trainingrun_launch")).content.decode()
    text = " ".join(html.split())
    assert (
        "From the training and validation splits now, a run learns from 6 reference "
        "summaries, 0 staff-labelled documents, 1 correction; validated on 3 documents."
    ) in text
    assert "Flips in <em>validation</em> documents change how the run is judged" in text
    assert "not what it learns" in text
    assert "only with at least 30 of them" in text and "is above −0.50" in text


def test_run_page_shows_the_gates_decision_with_n_and_interval(staff_client, tmp_path):
    """The gate decides on the run's model; its note (n, difference, interval) is on
    the run's page, not only on the version's."""
    from jobs.services.versions import apply_promotion_gate
    from tests.jobs.training_fixtures import measured_version, per_document

    (tmp_path / "v").mkdir()
    kept = measured_version(
        tmp_path / "v",
        candidate=per_document(31.0, pattern=1),
        lead3=per_document(35.0),
        fallback=per_document(35.0),
    )
    assert apply_promotion_gate(kept) is False
    html = staff_client.get(
        reverse("admin:jobs_trainingrun_change", args=[kept.run.pk])
    ).content.decode()
    note = html.split('data-testid="gate-note">')[1].split("</p>")[0]
    assert note.startswith("Promotion gate: not promoted: -4.00 ROUGE (95% interval -")
    assert "n=32) against the Zero-label default" in note
