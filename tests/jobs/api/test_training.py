"""Staff API: training runs and model versions; nobody else can reach them."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.models import JobStatus, ModelVersion, TrainingRun
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/training-runs/"),
        ("post", "/api/training-runs/"),
        ("get", "/api/training-runs/1/"),
        ("post", "/api/training-runs/1/cancel/"),
        ("get", "/api/models/"),
        ("post", "/api/models/1/promote/"),
        ("post", "/api/models/rollback/"),
    ],
)
def test_non_staff_gets_403_and_anonymous_401(api, method, path):
    assert getattr(api, method)(path, {}, format="json").status_code == 403
    assert getattr(APIClient(), method)(path, {}, format="json").status_code == 401


def test_create_list_and_cancel_a_run(staff_api, staff, settings, tmp_path):
    settings.TRAINING_DIR = tmp_path
    make_corpus(staff)
    resp = staff_api.post(
        "/api/training-runs/", {"kind": "bertsumext", "params": tiny_params()}, format="json"
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "queued"
    assert body["triggered_by"] == staff.username
    assert body["tensorboard_url"] == (
        "http://testserver/admin/jobs/trainingrun/tensorboard/"
        f"?runFilter=%5Erun-{body['id']}%24#timeseries"
    )
    assert staff_api.get("/api/training-runs/").json()["count"] == 1

    cancel = staff_api.post(f"/api/training-runs/{body['id']}/cancel/")
    assert cancel.status_code == 202
    assert cancel.json()["status"] == "cancelled"
    again = staff_api.post(f"/api/training-runs/{body['id']}/cancel/")
    assert again.status_code == 409
    assert "already finished" in again.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"kind": "gpt"}, "kind"),
        ({"kind": "bertsumext", "params": {"batch_size": -1}}, "invalid training params"),
        ({"kind": "bertsumext", "params": "fast"}, "params must be a JSON object"),
        ({"kind": "bertsumext", "train_split": ""}, "train_split"),
        ({"kind": "matchsum"}, "train and promote a bertsumext version first"),
    ],
)
def test_bad_run_requests_get_400(staff_api, staff, payload, needle):
    make_corpus(staff)
    resp = staff_api.post("/api/training-runs/", payload, format="json")
    assert resp.status_code == 400, resp.content
    assert needle in resp.content.decode()
    assert not TrainingRun.objects.exists()


def test_run_without_data_gets_400(staff_api):
    resp = staff_api.post("/api/training-runs/", {"kind": "bertsumext"}, format="json")
    assert resp.status_code == 400
    assert "import_dataset" in resp.json()["detail"]


def test_promote_and_rollback(staff_api, tmp_path):
    dirs = []
    for name in "ab":
        (tmp_path / name).mkdir()
        dirs.append(str(tmp_path / name))
    a = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=dirs[0])
    b = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=dirs[1])
    assert staff_api.post(f"/api/models/{a.pk}/promote/").json()["is_active"] is True
    resp = staff_api.post(f"/api/models/{b.pk}/promote/")
    assert resp.json()["is_active"] is True
    assert resp.json()["promoted_by"] is not None
    listed = {m["id"]: m["is_active"] for m in staff_api.get("/api/models/").json()["results"]}
    assert listed == {a.pk: False, b.pk: True}
    back = staff_api.post("/api/models/rollback/", {"kind": "bertsumext"}, format="json")
    assert back.status_code == 200 and back.json()["id"] == a.pk
    none_left = staff_api.post("/api/models/rollback/", {"kind": "bertsumext"}, format="json")
    assert none_left.status_code == 400


def test_promoting_a_version_whose_checkpoint_is_gone_is_refused(staff_api):
    v = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir="/nonexistent/ckpt")
    resp = staff_api.post(f"/api/models/{v.pk}/promote/")
    assert resp.status_code == 400
    assert "missing" in resp.json()["detail"]
    v.refresh_from_db()
    assert not v.is_active


def test_run_detail_shows_progress(staff_api):
    run = TrainingRun.objects.create(
        kind="bertsumext",
        status=JobStatus.RUNNING,
        progress_step=5,
        progress_total=20,
        last_loss=0.5,
        heartbeat_at=timezone.now(),
    )
    body = staff_api.get(f"/api/training-runs/{run.pk}/").json()
    assert body["progress"] == 0.25
    assert (body["progress_step"], body["progress_total"], body["last_loss"]) == (5, 20, 0.5)


def test_staff_can_upload_documents_as_training_data(staff_api):
    api = staff_api
    resp = api.post(
        "/api/documents/",
        {"text": "One. Two.", "reference_summary": "One.", "split": "train", "summarize": False},
        format="json",
    )
    assert resp.status_code == 201
    assert resp.json()["split"] == "train"
    bad = api.post("/api/documents/", {"text": "One.", "split": "holdout"}, format="json")
    assert bad.status_code == 400
