"""Training through real Celery workers on real Redis: run, promote, serve, gate, resume."""

import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.models import (
    ErrorKind,
    JobStatus,
    ModelVersion,
    SentenceError,
    Summary,
    TrainingRun,
)
from jobs.services.leases import reap_stale_jobs
from jobs.services.training import start_training
from jobs.services.versions import baseline_mean
from tests.jobs.training_fixtures import make_corpus, tiny_match_params, tiny_params

pytestmark = pytest.mark.integration

FAST_HEARTBEAT = {"TRAINING_HEARTBEAT_SECONDS": "0.5", "TRAINING_PROGRESS_SECONDS": "0.1"}
# Tests of the pipeline, not of a tiny model's quality: the gate lets a first version
# serve whatever it scores against Lead-3 (a 100-point tolerance).
ANY_SCORE = {"PROMOTION_TOLERANCE": "100"}


@pytest.fixture
def staff_api(staff):
    api = APIClient()
    api.force_authenticate(staff)
    return api


@pytest.fixture(autouse=True)
def training_dirs(settings, tmp_path):
    # The run's directories are fixed when it is queued (here) and used by the worker.
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"


def wait_for(predicate, timeout, what, workers):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{workers.logs()}")


def finished(run_id):
    run = TrainingRun.objects.get(pk=run_id)
    return run if run.status not in (JobStatus.QUEUED, JobStatus.RUNNING) else None


def assert_misclassified_sentences_stored(run):
    """The run keeps its misclassified validation sentences, each a real mistake.

    The references are each document's first two sentences, so those are the oracle
    labels, and a run has no misclassified sentence exactly when its validation
    summaries are the references (ROUGE 100): there are errors iff val_rouge < 100.
    """
    errors = list(SentenceError.objects.filter(run=run).select_related("document"))
    assert bool(errors) == (run.metrics["val_rouge"] < 100 - 1e-6), run.metrics
    for error in errors:
        doc = error.document
        assert doc.split == run.val_split
        assert doc.text[error.start : error.end] == error.text
        assert error.label == (1 if error.sentence_index < 2 else 0)
        assert error.kind == (ErrorKind.FALSE_NEGATIVE if error.label else ErrorKind.FALSE_POSITIVE)


def test_training_run_promotes_serves_and_gates(workers, staff, staff_api):
    docs = make_corpus(staff)
    workers.start("inference,default,training", TRAINING_DEVICE="cpu", **FAST_HEARTBEAT)

    resp = staff_api.post(
        "/api/training-runs/",
        {"kind": "bertsumext", "params": tiny_params(max_steps=30, eval_every=10)},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    run_id = resp.json()["id"]
    assert f"runFilter=%5Erun-{run_id}%24" in resp.json()["tensorboard_url"]

    # Progress is visible while it runs.
    seen = wait_for(
        lambda: TrainingRun.objects.filter(pk=run_id, progress_step__gt=0).first(),
        120,
        "progress",
        workers,
    )
    assert seen.progress_total == 30
    run = wait_for(lambda: finished(run_id), 300, "the first run", workers)
    assert run.status == JobStatus.SUCCEEDED, run.error
    first = ModelVersion.objects.get(run=run)
    # With nothing active, the gate compares with Lead-3 (what serves meanwhile).
    lead3 = baseline_mean(run.metrics)
    assert lead3 is not None and ("Lead-3" in first.gate_note), first.gate_note
    assert first.is_active == (run.metrics["val_rouge"] >= lead3), first.gate_note
    if not first.is_active:  # a tiny model below Lead-3: staff may still promote it
        assert "below Lead-3 by" in first.gate_note
        assert staff_api.post(f"/api/models/{first.pk}/promote/").status_code == 200
        first.refresh_from_db()
    assert_misclassified_sentences_stored(run)

    # The next default summary is produced by the promoted version.
    resp = staff_api.post("/api/documents/", {"text": docs[0].text}, format="json")
    summary_id = resp.json()["summary"]["id"]
    summary = wait_for(
        lambda: Summary.objects.filter(pk=summary_id, status=JobStatus.SUCCEEDED).first(),
        120,
        "the summary",
        workers,
    )
    assert (summary.model, summary.version_id) == ("bertsumext", first.pk)

    # A second run that cannot learn (lr 0) scores below the active one: not promoted.
    resp = staff_api.post(
        "/api/training-runs/",
        {"kind": "bertsumext", "params": tiny_params(max_steps=1, lr=0.0, eval_every=1)},
        format="json",
    )
    second_id = resp.json()["id"]
    second = wait_for(lambda: finished(second_id), 300, "the second run", workers)
    assert second.status == JobStatus.SUCCEEDED, second.error
    worse = ModelVersion.objects.get(run=second)
    assert not worse.is_active
    assert "not promoted" in worse.gate_note
    assert worse.metrics["val_rouge"] < worse.metrics["active_val_rouge"]
    first.refresh_from_db()
    assert first.is_active

    models = staff_api.get("/api/models/").json()["results"]
    assert {m["id"]: m["is_active"] for m in models} == {first.pk: True, worse.pk: False}


def test_killed_training_worker_resumes_from_checkpoint(workers, staff, settings):
    settings.TRAINING_STALE_AFTER = 3
    make_corpus(staff)
    first_worker = workers.start("training", TRAINING_DEVICE="cpu", **FAST_HEARTBEAT, **ANY_SCORE)
    run = start_training(
        "bertsumext", params=tiny_params(max_steps=60, eval_every=10), triggered_by=staff
    )
    wait_for(
        lambda: TrainingRun.objects.filter(pk=run.pk, progress_step__gte=25).exists(),
        240,
        "25 steps",
        workers,
    )
    workers.kill(first_worker)  # SIGKILL: no chance to checkpoint, ack or clean up
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING and run.attempts == 1

    workers.start("training", TRAINING_DEVICE="cpu", **FAST_HEARTBEAT, **ANY_SCORE)
    # Beat's reaper notices the stale heartbeat and queues the run again.
    wait_for(
        lambda: run.heartbeat_at < timezone.now() - timezone.timedelta(seconds=3),
        30,
        "a stale heartbeat",
        workers,
    )
    assert reap_stale_jobs().requeued == 1
    done = wait_for(lambda: finished(run.pk), 300, "the resumed run", workers)
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.attempts == 2
    assert done.resumed_from_step is not None and 20 <= done.resumed_from_step < 60
    assert done.progress_step == 60
    assert ModelVersion.objects.get(run=done).is_active


def test_matchsum_trained_and_served_by_real_workers(workers, staff, staff_api, user):
    docs = make_corpus(staff)
    workers.start(
        "inference,default,training", TRAINING_DEVICE="cpu", **FAST_HEARTBEAT, **ANY_SCORE
    )
    for kind, params in (("bertsumext", tiny_params()), ("matchsum", tiny_match_params())):
        resp = staff_api.post(
            "/api/training-runs/", {"kind": kind, "params": params}, format="json"
        )
        assert resp.status_code == 201, resp.content
        run_id = resp.json()["id"]
        run = wait_for(lambda: finished(run_id), 300, f"the {kind} run", workers)  # noqa: B023
        assert run.status == JobStatus.SUCCEEDED, run.error
    matchsum = ModelVersion.objects.get(kind="matchsum", is_active=True)

    # A client (not staff) asks for MatchSum by name and gets it from the inference worker.
    client = APIClient()
    client.force_authenticate(user)
    resp = client.post(
        "/api/documents/", {"text": docs[0].text, "model": "matchsum"}, format="json"
    )
    assert resp.status_code == 201, resp.content
    summary_id = resp.json()["summary"]["id"]
    wait_for(
        lambda: Summary.objects.filter(pk=summary_id, status=JobStatus.SUCCEEDED).exists(),
        120,
        "the MatchSum summary",
        workers,
    )
    body = client.get(f"/api/summaries/{summary_id}/").json()
    assert (body["model"], body["model_version"]) == ("matchsum", matchsum.label)
    selected = [s for s in body["sentences"] if s["selected"]]
    assert 1 <= len(selected) <= 3
    for s in body["sentences"]:
        assert docs[0].text[s["start"] : s["end"]] == s["text"]
