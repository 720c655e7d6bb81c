"""The learning loop of issue #22 through real processes, end to end.

A non-staff client uploads a document through the API; a first tiny training run on the
real training worker leaves misclassified sentences of its training documents; in
Chromium, staff label the upload by keyboard (the split rule puts it in train) and flip
one training-document error in the review queue; the front page says what the schedule
would start; real `celery beat` fires the retraining schedule (a few seconds' interval
instead of weekly), the real training worker runs it, and its manifest holds exactly
those labels; the run page shows the gate's decision with n, difference and interval.

Only PROMOTION_MIN_DOCUMENTS is lowered (to the corpus' validation size); the gate's
paired bootstrap runs as deployed.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from jobs.models import Document, JobStatus, LabelOverride, SentenceError, TrainingRun, Trigger
from jobs.services.splits import labelled_split
from jobs.services.training import start_training
from tests.factories import UserFactory
from tests.integration.conftest import workers  # noqa: F401 (the fixture)
from tests.integration.test_beat import RETRAIN_TASK_NAME, retrain_every, stack_argv
from tests.jobs.training_fixtures import make_corpus, tiny_params
from tests.ml.fixtures.bertsumext import WORDS

from .conftest import PASSWORD, login, shoot

pytestmark = pytest.mark.integration

MIN_DOCUMENTS = 8  # validation documents: the corpus has exactly this many
TRAINING = 240  # seconds for one tiny run: a worker child imports torch, on a loaded machine
DEADLINE = 90  # seconds for beat to fire the schedule


def call(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def text_for_train(seed: int = 100) -> str:
    """A six-sentence text the split rule (LABELLED_VALIDATION_FRACTION by content hash)
    puts in train once labelled; the first seed that does, so always the same text."""
    while True:
        rng = random.Random(seed)
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + "." for _ in range(6)
        ]
        text = " ".join(sentences)
        if labelled_split(hashlib.sha256(text.encode()).hexdigest()) == "train":
            return text
        seed += 1


def press(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def finished(run_pk: int):
    run = TrainingRun.objects.get(pk=run_pk)
    return run if run.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None


@pytest.mark.django_db(transaction=True)
def test_staff_labels_and_a_correction_are_what_the_scheduled_run_learns(
    page,
    live_server,
    workers,  # noqa: F811 (the fixture imported above)
    settings,
    tmp_path,
):
    started = time.monotonic()
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    settings.TRAINING_DEVICE = "cpu"
    settings.PROMOTION_MIN_DOCUMENTS = MIN_DOCUMENTS
    ada = UserFactory(username="ada", is_staff=True, is_superuser=True)
    UserFactory(username="client")
    make_corpus(ada, train=6, val=MIN_DOCUMENTS)
    params = tiny_params()
    env = {
        "TRAINING_DEVICE": "cpu",
        "PROMOTION_MIN_DOCUMENTS": str(MIN_DOCUMENTS),
        "SCHEDULED_TRAINING_PARAMS": json.dumps(params),
    }
    argv = stack_argv(tmp_path)
    workers.start_command("worker-training", argv["worker-training"], **env)

    # A client (not staff) uploads a document to summarize: no split, no labels.
    _, body = call(
        f"{live_server.url}/api/auth/token/", {"username": "client", "password": PASSWORD}
    )
    status, created = call(
        f"{live_server.url}/api/documents/",
        {"text": text_for_train(), "summarize": False},
        body["token"],
    )
    assert status == 201, created
    upload = Document.objects.get(pk=created["id"])
    assert (upload.split, upload.owner.username) == ("", "client")

    # A first run on the real training worker: its tiny model misclassifies sentences
    # of its training documents.
    first = start_training("bertsumext", params=params, triggered_by=ada)
    first = workers.wait_for(lambda: finished(first.pk), TRAINING, f"the first run {first.pk}")
    assert first.status == JobStatus.SUCCEEDED, first.error
    assert upload.pk not in first.manifest["train_documents"]
    error = SentenceError.objects.filter(run=first, split="train").order_by("pk").first()
    assert error is not None, "an undertrained tiny model misclassifies training sentences"
    assert error.document_id in first.manifest["train_documents"]

    # Staff label the upload by keyboard: in, out, in, out.
    login(page, "ada")
    page.goto(f"/admin/jobs/document/{upload.pk}/label/")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("in the summary")
    for key in ("i", "o", "i", "o"):
        press(page, key)
    expect(page.get_by_test_id("split")).to_have_text("Train")  # by the split rule
    shoot(page, "40-loop-labelled")

    # ... and flip the first run's error on a training document in the review queue.
    page.goto(f"/admin/jobs/sentenceerror/review/{first.pk}/?item={error.pk}")
    assert page.get_by_test_id("current").get_attribute("data-item") == str(error.pk)
    expect(page.get_by_test_id("flip-effect")).to_contain_text(
        "a flip changes what the next run learns"
    )
    press(page, "f")
    staff_labels = [[upload.pk, 0, 1, "staff"], [upload.pk, 1, 0, "staff"]]
    staff_labels += [[upload.pk, 2, 1, "staff"], [upload.pk, 3, 0, "staff"]]
    correction = [error.document_id, error.sentence_index, 1 - error.label, "correction"]
    assert sorted(
        [o.document_id, o.sentence_index, o.label, o.source] for o in LabelOverride.objects.all()
    ) == sorted([*staff_labels, correction])

    # The retraining schedule, due every few seconds; the front page says what it would
    # start, before beat runs.
    retrain_every(3)
    page.goto("/admin/")
    row = page.locator(f'tr[data-schedule="{RETRAIN_TASK_NAME}"]')
    expect(row.get_by_test_id("would")).to_have_text(
        f"would start: 1 new labelled document, 1 correction, 4 new staff labels "
        f"since run {first.pk}"
    )
    shoot(page, "41-loop-would-start")

    # Real beat fires it; the inference worker (default queue) runs the schedule's task,
    # which queues the run for the training worker.
    workers.start_command("worker-inference", argv["worker-inference"], **env)
    workers.start_command("beat", argv["beat"], ping=False, **env)
    scheduled = workers.wait_for(
        lambda: TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).first(),
        DEADLINE,
        "beat to start the scheduled run",
    )
    run = workers.wait_for(lambda: finished(scheduled.pk), TRAINING, f"the run {scheduled.pk}")
    assert run.status == JobStatus.SUCCEEDED, run.error

    # It learned from exactly those labels: the upload's staff labels and the correction,
    # nothing else (the corpus' other documents carry their references' oracle labels).
    assert run.manifest["labels"] == sorted([*staff_labels, correction])
    assert upload.pk in run.manifest["train_documents"]
    assert run.manifest["validation_documents"] == first.manifest["validation_documents"]
    assert {k: run.manifest["train"][k] for k in ("documents", "staff_labels", "corrections")} == {
        "documents": 7,
        "staff_labels": 4,
        "corrections": 1,
    }
    assert run.manifest["validation"]["staff_labels"] == 0
    assert run.manifest["validation"]["corrections"] == 0

    # The gate decided on n = MIN_DOCUMENTS validation documents, with its interval, and
    # the run page in Chromium says so.
    version = run.version
    decided = "promoted: " if version.is_active else "not promoted: "
    assert version.gate_note.startswith(decided), version.gate_note
    assert "95% interval" in version.gate_note and f"n={MIN_DOCUMENTS})" in version.gate_note
    page.goto(f"/admin/jobs/trainingrun/{run.pk}/change/")
    expect(page.get_by_test_id("learned-from")).to_have_text(
        "Learned from 6 reference summaries, 1 staff-labelled document, 1 correction; "
        f"validated on {MIN_DOCUMENTS} documents."
    )
    note = page.get_by_test_id("gate-note")
    expect(note).to_have_text(f"Promotion gate: {version.gate_note}")
    expect(note).to_contain_text(f"n={MIN_DOCUMENTS})")
    expect(page.get_by_test_id("measured-against")).to_contain_text(f"n={MIN_DOCUMENTS})")
    shoot(page, "42-loop-gate")

    # Nothing new since: later ticks start nothing, and the front page says so.
    page.goto("/admin/")
    expect(row.get_by_test_id("would")).to_have_text(
        f"would not start: nothing new since run {run.pk}"
    )
    assert TrainingRun.objects.filter(trigger=Trigger.SCHEDULE).count() == 1
    print(f"the loop took {time.monotonic() - started:.0f}s")
