"""The abstractive kind in the API: refused with a clear 400 in the one error shape
while ABSTRACTIVE_MODEL is unset or not local, never trainable, and a worker that cannot
load the model fails the summary with a message that says why."""

import pytest
from rest_framework.test import APIClient

from jobs import engines
from jobs.models import Document, JobStatus, Summary, TrainingRun
from jobs.workers import summarize as summarize_worker
from tests.factories import ARTICLE, SummaryFactory
from tests.jobs.training_fixtures import make_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_engines():
    engines._cache.clear()
    yield
    engines._cache.clear()


@pytest.mark.parametrize(
    ("configured", "needle"),
    [
        ("", "model 'abstractive' is not configured: set ABSTRACTIVE_MODEL; available: lead3"),
        ("/nonexistent/bart", "ABSTRACTIVE_MODEL='/nonexistent/bart' is neither a directory"),
        ("no-such-owner/no-such-summarizer", "nor a model in the local Hugging Face cache"),
    ],
)
def test_an_unavailable_abstractive_model_is_refused_with_400(api, settings, configured, needle):
    settings.ABSTRACTIVE_MODEL = configured
    resp = api.post("/api/documents/", {"text": ARTICLE, "model": "abstractive"}, format="json")
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert set(body) == {"detail", "errors"} and "model" in body["errors"]
    assert needle in body["detail"]
    assert not Document.objects.exists() and not Summary.objects.exists()


def test_training_the_abstractive_kind_is_refused_with_400(staff):
    make_corpus(staff)
    api = APIClient()
    api.force_authenticate(staff)
    resp = api.post("/api/training-runs/", {"kind": "abstractive"}, format="json")
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert set(body) == {"detail", "errors"}
    assert "kind 'abstractive' is not trainable" in body["errors"]["kind"][0]
    assert not TrainingRun.objects.exists()


def test_a_model_directory_that_does_not_load_fails_the_summary_clearly(settings, tmp_path):
    settings.ABSTRACTIVE_MODEL = str(tmp_path)  # a directory, but no model in it
    assert engines.is_available("abstractive")
    summary = SummaryFactory(requested_model="abstractive")
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert summary.error.startswith(f"cannot load abstractive model '{tmp_path}' from local files")
    assert "nothing is downloaded" in summary.error


def test_invalid_generation_settings_fail_the_summary_clearly(settings, tmp_path):
    settings.ABSTRACTIVE_MODEL = str(tmp_path)
    settings.ABSTRACTIVE_GENERATION = {"num_beams": 0}
    summary = SummaryFactory(requested_model="abstractive")
    summarize_worker.run(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert summary.error.startswith("ABSTRACTIVE_GENERATION is invalid: num_beams")
