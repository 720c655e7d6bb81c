"""Who may see the dashboard and act on it; every page renders; the front page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from jobs import checks, messages
from jobs.models import (
    JobStatus,
    LabelOverride,
    ModelVersion,
    ReviewStatus,
    SentenceError,
    Summary,
    TrainingRun,
)
from tests.factories import SummaryFactory, UserFactory
from tests.jobs.admin.helpers import (
    dashboard_urls,
    ensure_retrain_schedule,
    make_errors,
    make_version,
    succeeded_summary,
)
from tests.jobs.training_fixtures import make_corpus

pytestmark = pytest.mark.django_db


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


def test_every_dashboard_page_renders_for_staff(staff_client, staff, tmp_path, fake_tensorboard):
    run, document, errors = make_errors(staff)
    version = make_version(tmp_path, active=True)
    summary = succeeded_summary(document)
    before = state_of_the_service()
    for url in dashboard_urls(run, version, errors[0], document, summary):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    # Showing a page never changes anything: not the promote / roll back / launch
    # confirmation pages, not TensorBoard's proxy, not the review list.
    assert state_of_the_service() == before
    assert Path(version.checkpoint_dir).is_dir()  # rollback's GET removed no checkpoint
    page = staff_client.get(reverse("admin:jobs_summary_change", args=[summary.pk])).content
    assert summary.sentences[0]["text"] in page.decode()  # the pages show the objects


def state_of_the_service():
    return {
        "summaries": list(Summary.objects.values_list("pk", "status", "attempts")),
        "runs": list(TrainingRun.objects.values_list("pk", "status")),
        "active": list(ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True)),
        "reviews": list(SentenceError.objects.values_list("pk", "review_status")),
        "overrides": LabelOverride.objects.count(),
    }


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


def test_the_retraining_schedule_is_weekly_valid_and_listed(staff_client):
    ensure_retrain_schedule()  # migration 0003's own function: what it creates is tested
    task = PeriodicTask.objects.get(task=messages.RETRAIN_IF_NEW_DATA)
    crontab = task.crontab
    fields = (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month)
    assert fields == ("0", "3", "0", "*") and str(crontab.timezone) == "UTC"
    assert (task.enabled, json.loads(task.kwargs), task.queue) == (
        True,
        {"kind": "bertsumext"},
        "default",
    )
    # Beat can send it: a registered task whose limits Celery accepts.
    assert checks.periodic_task_rows(None, databases=["default"]) == []
    html = staff_client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content
    assert task.name.encode() in html
    front = staff_client.get(reverse("admin:index")).content.decode()
    assert f'<tr data-schedule="{task.name}">' in front and "not run yet" in front
