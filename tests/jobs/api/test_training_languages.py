"""A training run whose documents are mostly in a language its encoder cannot read is
refused: a 400 from the API, the same message on the dashboard (issue #23)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from jobs.models import TrainingRun
from jobs.services.documents import DocumentInput, submit_documents
from tests.jobs.training_fixtures import make_corpus, tiny_params
from tests.ml.fixtures.korean import korean_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def korean_corpus(owner, split, count):
    """Korean documents with references, through the product's upload path."""
    items = []
    for seed in range(count):
        text = korean_text(6, seed=100 * seed + len(split))
        reference = " ".join(text.split(". ")[:2])
        items.append(
            DocumentInput(text=text, reference_summary=reference, split=split, summarize=False)
        )
    return [s.document for s in submit_documents(owner, items)]


def _post(staff_api):
    return staff_api.post(
        "/api/training-runs/", {"kind": "bertsumext", "params": tiny_params()}, format="json"
    )


def test_mostly_korean_training_documents_are_refused(staff_api, staff, settings, tmp_path):
    settings.TRAINING_DIR = tmp_path
    make_corpus(staff, train=2, val=3)  # English
    docs = korean_corpus(staff, "train", 3)
    assert {d.language for d in docs} == {"ko"}
    response = _post(staff_api)
    assert response.status_code == 400, response.content
    body = response.json()
    (message,) = body["errors"]["train_split"]
    assert message == body["detail"]
    assert message.startswith(
        "3 of 5 documents of the train split are in Korean ('ko'), which encoder "
        "'all-MiniLM-L6-v2' does not read (measured on its tokenizer: 0."
    )
    assert message.endswith(
        "train on documents in English or choose an encoder that reads Korean (model.encoder)"
    )
    assert not TrainingRun.objects.exists()


def test_mostly_korean_validation_documents_are_refused(staff_api, staff, settings, tmp_path):
    settings.TRAINING_DIR = tmp_path
    make_corpus(staff, train=4, val=1)
    korean_corpus(staff, "validation", 2)
    response = _post(staff_api)
    assert response.status_code == 400, response.content
    assert "2 of 3 documents of the val split are in Korean" in str(response.json())
    assert not TrainingRun.objects.exists()


def test_a_korean_minority_is_accepted(staff_api, staff, settings, tmp_path):
    settings.TRAINING_DIR = tmp_path
    make_corpus(staff, train=4, val=3)
    korean_corpus(staff, "train", 2)
    response = _post(staff_api)
    assert response.status_code == 201, response.content


def test_the_dashboard_shows_the_refusal(staff, settings, tmp_path):
    staff_client = Client()
    staff_client.force_login(staff)
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    make_corpus(staff, train=1, val=3)
    korean_corpus(staff, "train", 2)
    response = staff_client.post(
        reverse("admin:jobs_trainingrun_launch"),
        {"kind": "bertsumext", "train_split": "train", "val_split": "validation"},
    )
    page = response.content.decode()
    assert "2 of 3 documents of the train split are in Korean (&#x27;ko&#x27;)" in page
    assert "all-MiniLM-L6-v2" in page
    assert not TrainingRun.objects.exists()
