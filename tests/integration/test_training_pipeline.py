"""Training through real Celery workers on real Redis: run, promote, serve, gate, resume."""

import os
import re
import signal
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from devstack.children import service_children
from jobs.models import (
    ErrorKind,
    JobStatus,
    ModelVersion,
    SentenceError,
    Summary,
    TrainingRun,
)
from jobs.services.training import start_training
from jobs.services.versions import baseline_mean
from ml.checkpoints import list_training_checkpoints
from tests.jobs.training_fixtures import make_corpus, tiny_match_params, tiny_params

pytestmark = pytest.mark.integration

FAST_HEARTBEAT = {"TRAINING_HEARTBEAT_SECONDS": "0.5", "TRAINING_PROGRESS_SECONDS": "0.1"}
# Tests of the pipeline, not of a tiny model's quality: the gate lets a first version
# serve whatever it scores against the zero-label default (a 100-point tolerance).
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


def pool_pids(workers) -> list[int]:
    """The pool processes of the (one) worker."""
    stats = workers.app.control.inspect(timeout=2).stats() or {}
    return [pid for worker in stats.values() for pid in worker["pool"]["processes"]]


def training_worker_argv(log_dir) -> list[str]:
    """The training worker's command line as `manage.py runstack` starts it."""
    opts = {"inference_concurrency": 1, "port": 0, "web_workers": 1, "no_tensorboard": True}
    (child,) = [c for c in service_children(opts, log_dir) if c.name == "worker-training"]
    return child.argv


def finished(run_id):
    run = TrainingRun.objects.get(pk=run_id)
    return run if run.status not in (JobStatus.QUEUED, JobStatus.RUNNING) else None


def assert_misclassified_sentences_stored(run):
    """The run keeps its misclassified validation (and training) sentences, each a real
    mistake.

    The references are each document's first two sentences, so those are the oracle
    labels, and a run has no misclassified validation sentence exactly when its
    validation summaries are the references (ROUGE 100): there are errors iff
    val_rouge < 100.
    """
    errors = list(SentenceError.objects.filter(run=run).select_related("document"))
    on_validation = [e for e in errors if e.split == "validation"]
    assert bool(on_validation) == (run.metrics["val_rouge"] < 100 - 1e-6), run.metrics
    for error in errors:
        doc = error.document
        assert doc.split == (run.val_split if error.split == "validation" else run.train_split)
        assert doc.text[error.start : error.end] == error.text
        assert error.label == (1 if error.sentence_index < 2 else 0)
        assert error.kind == (ErrorKind.FALSE_NEGATIVE if error.label else ErrorKind.FALSE_POSITIVE)


def test_training_run_promotes_serves_and_gates(workers, staff, staff_api):
    docs = make_corpus(staff, val=30)  # the gate's PROMOTION_MIN_DOCUMENTS
    # No memory recycling: the child that served the first version serves the promoted one.
    no_recycling = {"CELERY_WORKER_MAX_MEMORY_PER_CHILD": "0"}
    workers.start(
        "inference,default,training", TRAINING_DEVICE="cpu", **FAST_HEARTBEAT, **no_recycling
    )

    resp = staff_api.post(
        "/api/training-runs/",
        {"kind": "bertsumext", "params": tiny_params(max_steps=30, eval_every=10)},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    run_id = resp.json()["id"]
    assert f"runFilter=%5Erun-{run_id}%24" in resp.json()["tensorboard_url"]

    # Progress is visible while it runs.
    seen = workers.wait_for(
        lambda: TrainingRun.objects.filter(pk=run_id, progress_step__gt=0).first(),
        120,
        "progress",
    )
    assert seen.progress_total == 30
    run = workers.wait_for(lambda: finished(run_id), 300, "the first run")
    assert run.status == JobStatus.SUCCEEDED, run.error
    first = ModelVersion.objects.get(run=run)
    # With nothing active, the gate compares with the zero-label default (what serves
    # meanwhile).
    serving = baseline_mean(run.metrics, "fallback")
    assert serving is not None and ("Zero-label default" in first.gate_note), first.gate_note
    compared = first.transitions.get().compared
    assert compared["n"] == 30 and "n=30)" in first.gate_note
    assert first.is_active == (compared["ci95"][0] > 0), first.gate_note  # tolerance 0
    if not first.is_active:  # not reliably above it: staff may still promote it
        assert "so it may be worse" in first.gate_note
        assert staff_api.post(f"/api/models/{first.pk}/promote/").status_code == 200
        first.refresh_from_db()
    assert_misclassified_sentences_stored(run)

    # The next default summary is produced by the promoted version.
    resp = staff_api.post("/api/documents/", {"text": docs[0].text}, format="json")
    summary_id = resp.json()["summary"]["id"]
    summary = workers.wait_for(
        lambda: Summary.objects.filter(pk=summary_id, status=JobStatus.SUCCEEDED).first(),
        120,
        "the summary",
    )
    assert (summary.model, summary.version_id) == ("bertsumext", first.pk)

    # A second run that cannot learn (lr 0) scores below the active one: not promoted.
    resp = staff_api.post(
        "/api/training-runs/",
        {"kind": "bertsumext", "params": tiny_params(max_steps=1, lr=0.0, eval_every=1)},
        format="json",
    )
    second_id = resp.json()["id"]
    second = workers.wait_for(lambda: finished(second_id), 300, "the second run")
    assert second.status == JobStatus.SUCCEEDED, second.error
    worse = ModelVersion.objects.get(run=second)
    assert not worse.is_active
    assert "not promoted" in worse.gate_note
    assert worse.metrics["val_rouge"] < worse.metrics["active_val_rouge"]
    first.refresh_from_db()
    assert first.is_active

    models = staff_api.get("/api/models/").json()["results"]
    assert {m["id"]: m["is_active"] for m in models} == {first.pk: True, worse.pk: False}

    # Staff promote the second version: the same worker process (it has the first one
    # loaded) serves it on its next summary, without a restart.
    children = pool_pids(workers)
    resp = staff_api.post(f"/api/models/{worse.pk}/promote/")
    assert resp.status_code == 200 and resp.json()["is_active"], resp.content
    resp = staff_api.post("/api/documents/", {"text": docs[1].text}, format="json")
    summary_id = resp.json()["summary"]["id"]
    summary = workers.wait_for(
        lambda: Summary.objects.filter(pk=summary_id, status=JobStatus.SUCCEEDED).first(),
        120,
        "the summary after the promotion",
    )
    assert (summary.model, summary.version_id) == ("bertsumext", worse.pk)
    assert pool_pids(workers) == children and len(children) == 1


def checkpoint_steps(run) -> list[int]:
    found = list_training_checkpoints(Path(run.out_dir) / "checkpoints")
    return [int(p.name.removeprefix("step-")) for p in found]


def test_killed_training_process_is_taken_over_by_the_redelivered_task(workers, staff, tmp_path):
    """SIGKILL the pool process training a run, right after its first checkpoint: Celery
    redelivers the task, which sees the dead holder and resumes at once (no reaper: beat
    is not running and TRAINING_STALE_AFTER keeps its default of minutes)."""
    make_corpus(staff)
    workers.start_command(
        "worker-training", training_worker_argv(tmp_path), TRAINING_DEVICE="cpu", **FAST_HEARTBEAT
    )
    # Far more steps than it can take: the time budget (15 s of training, counted across
    # attempts) ends it, so it cannot finish before the kill on any machine.
    params = tiny_params(max_steps=100_000, eval_every=10, max_minutes=0.25)
    run = start_training("bertsumext", params=params, triggered_by=staff)
    workers.wait_for(lambda: checkpoint_steps(run), 120, "the first checkpoint")
    run.refresh_from_db()
    holder = int(run.lease_owner.split(" ")[2])  # "<node> <incarnation> <pid> <start>"
    os.kill(holder, signal.SIGKILL)  # no chance to checkpoint, ack or clean up
    killed_at = time.monotonic()
    saved = checkpoint_steps(run)[-1]  # the dead process writes nothing more

    taken_over = workers.wait_for(
        lambda: TrainingRun.objects.filter(pk=run.pk, attempts=2, status="running").first(),
        60,
        "the redelivered task to take the run over",
    )
    recovery = time.monotonic() - killed_at
    assert recovery < 30, recovery  # well before the reaper could (stale after 120 s)
    assert taken_over.lease_owner and int(taken_over.lease_owner.split(" ")[2]) != holder
    done = workers.wait_for(lambda: finished(run.pk), 240, "the resumed run")
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert (done.attempts, done.continuations, done.resumed_from_step) == (2, 0, saved)
    assert done.progress_step > saved
    assert ModelVersion.objects.filter(run=done).count() == 1


def test_a_training_worker_killed_whole_is_recovered_when_one_starts_again(
    workers, staff, tmp_path
):
    """SIGKILL the whole training worker (parent and pool) after the first checkpoint:
    its message stays unacknowledged in Redis for the visibility timeout (1 h). The
    next training worker on this host sees the dead holder when it is ready and sends
    the run again (no beat, TRAINING_STALE_AFTER at its default)."""
    make_corpus(staff)
    argv = training_worker_argv(tmp_path)
    first = workers.start_command("worker-training", argv, TRAINING_DEVICE="cpu", **FAST_HEARTBEAT)
    params = tiny_params(max_steps=100_000, eval_every=10, max_minutes=0.25)
    run = start_training("bertsumext", params=params, triggered_by=staff)
    workers.wait_for(lambda: checkpoint_steps(run), 120, "the first checkpoint")
    workers.kill(first)  # the process group: parent and pool child
    saved = checkpoint_steps(run)[-1]
    run.refresh_from_db()
    assert (run.status, run.attempts) == (JobStatus.RUNNING, 1)

    workers.start_command("worker-training-2", argv, TRAINING_DEVICE="cpu", **FAST_HEARTBEAT)
    ready_at = time.monotonic()
    workers.wait_for(
        lambda: TrainingRun.objects.filter(pk=run.pk, attempts=2).exists(),
        60,
        "the restarted worker to resume the run",
    )
    assert time.monotonic() - ready_at < 30
    done = workers.wait_for(lambda: finished(run.pk), 240, "the resumed run")
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert (done.attempts, done.continuations, done.resumed_from_step) == (2, 0, saved)
    assert ModelVersion.objects.filter(run=done).count() == 1
    assert (
        "requeued 1 run(s) of its earlier run" in (tmp_path / "worker-training-2.log").read_text()
    )


def test_a_run_longer_than_its_task_continues_in_a_second_task(workers, staff, tmp_path):
    """The soft time limit (60 s here, 55 min by default) ends the first task at a
    checkpoint of the step it reached; a second task resumes from that step."""
    make_corpus(staff)
    limits = {"TRAINING_SOFT_TIME_LIMIT": "60", "TRAINING_TIME_LIMIT": "300"}
    workers.start_command(
        "worker-training",
        training_worker_argv(tmp_path),
        TRAINING_DEVICE="cpu",
        **FAST_HEARTBEAT,
        **limits,
    )
    # Far more steps than it can take; the time budget ends it: 90 s of training counted
    # across tasks. The first task has at most 60 s, so it must hand off; the second has
    # the rest (about 30 s) plus its start-up before its own limit, and on a very loaded
    # machine a third task may take the last seconds: each hand-off is one continuation.
    params = tiny_params(max_steps=100_000, eval_every=25, max_minutes=1.5)
    run = start_training("bertsumext", params=params, triggered_by=staff)
    done = workers.wait_for(lambda: finished(run.pk), 420, "the run")
    assert done.status == JobStatus.SUCCEEDED, done.error
    log = (tmp_path / "worker-training.log").read_text()
    handed_off = [int(step) for step in re.findall(r"continuing from step (\d+)", log)]
    tasks = re.findall(r"Task jobs\.train\[[^]]+\] succeeded", log)
    assert len(tasks) >= 2 and len(handed_off) == len(tasks) - 1, log[-3000:]
    assert (done.attempts, done.continuations) == (1, len(handed_off))
    assert done.resumed_from_step == handed_off[-1] > 0
    assert handed_off == sorted(handed_off) and done.progress_step > handed_off[-1]
    assert done.metrics["stopped"] == "time_budget"
    assert TrainingRun.objects.count() == 1
    assert ModelVersion.objects.filter(run=done).count() == 1


def test_matchsum_trained_and_served_by_real_workers(workers, staff, staff_api, user):
    docs = make_corpus(staff, val=30)  # the gate's PROMOTION_MIN_DOCUMENTS
    workers.start(
        "inference,default,training", TRAINING_DEVICE="cpu", **FAST_HEARTBEAT, **ANY_SCORE
    )
    for kind, params in (("bertsumext", tiny_params()), ("matchsum", tiny_match_params())):
        resp = staff_api.post(
            "/api/training-runs/", {"kind": kind, "params": params}, format="json"
        )
        assert resp.status_code == 201, resp.content
        run_id = resp.json()["id"]
        run = workers.wait_for(lambda: finished(run_id), 300, f"the {kind} run")  # noqa: B023
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
    workers.wait_for(
        lambda: Summary.objects.filter(pk=summary_id, status=JobStatus.SUCCEEDED).exists(),
        120,
        "the MatchSum summary",
    )
    body = client.get(f"/api/summaries/{summary_id}/").json()
    assert (body["model"], body["model_version"]) == ("matchsum", matchsum.label)
    selected = [s for s in body["sentences"] if s["selected"]]
    assert 1 <= len(selected) <= 3
    for s in body["sentences"]:
        assert docs[0].text[s["start"] : s["end"]] == s["text"]
