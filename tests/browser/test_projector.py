"""The embedding projector of a run's validation sentence vectors, opened from the
admin's run page through the staff-only TensorBoard proxy, in a real Chromium."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs.models import JobStatus
from jobs.services.training import start_training
from jobs.workers import train as train_worker
from tests.factories import UserFactory
from tests.jobs.training_fixtures import make_corpus, tiny_params

from .conftest import login, shoot


def projector_rows(logdir: Path) -> int:
    """Sentences in the run's last projector embedding (metadata.tsv less its header)."""
    last = sorted(logdir.glob("*/validation_sentences/metadata.tsv"))[-1]
    with open(last, newline="") as f:
        return len(list(csv.reader(f, delimiter="\t"))) - 1


@pytest.mark.django_db(transaction=True)
def test_staff_open_the_sentence_projector_from_the_run_page(
    page, live_server, tensorboard, settings, tmp_path
):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TRAINING_DEVICE = "cpu"
    staff = UserFactory(username="ada", is_staff=True, is_superuser=True)
    make_corpus(staff)
    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(run.pk)  # what the training worker does, in-process
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    points = projector_rows(Path(run.tensorboard_logdir))
    assert points > 0

    login(page, "ada")
    page.goto(f"/admin/jobs/trainingrun/{run.pk}/change/")
    tensorboard.wait_ready()
    # TensorBoard finds the projector's config in the background after the first ask.
    listing = "/admin/jobs/trainingrun/tensorboard/data/plugins_listing"
    deadline = time.monotonic() + 60
    while not page.request.get(listing).json()["projector"]["enabled"]:
        assert time.monotonic() < deadline, "TensorBoard never listed the projector as active"
        time.sleep(0.5)
    with page.context.expect_page() as opened:
        page.locator("a.jobs-projector").click()
    board = opened.value
    board.wait_for_load_state()
    assert "/admin/jobs/trainingrun/tensorboard/" in board.url and board.url.endswith("#projector")
    # The projector loaded the run's tensor through the proxy: its point count.
    # TensorBoard frames the plugin's entry page, which frames the projector itself.
    projector = board.frame_locator("iframe").first.frame_locator("iframe").first
    expect(projector.get_by_text(re.compile(rf"Points:\s*{points}\b")).first).to_be_visible(
        timeout=60_000
    )
    shoot(board, "projector")
    config = board.request.get(
        f"/admin/jobs/trainingrun/tensorboard/data/plugin/projector/info?run=run-{run.pk}"
    )
    assert config.ok
    names = [e["tensorName"] for e in config.json()["embeddings"]]
    assert names and all(n.startswith("validation_sentences:") for n in names)
    board.close()
