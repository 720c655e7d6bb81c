"""A real inference worker with two processes: the parent preloads the model before
forking, each process runs one torch thread, and the forked processes score exactly
as a model loaded in this process does (issue #16)."""

import sys
import time

import pytest

from jobs.models import JobStatus, Summary
from jobs.services.documents import DocumentInput, submit_documents
from ml.models.bertsumext.summarizer import Summarizer
from tests.factories import UserFactory
from tests.ml.fixtures.bertsumext import tiny_checkpoint, toy_texts

pytestmark = pytest.mark.integration


def _finished(ids, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Summary.objects.filter(pk__in=ids).order_by("pk"))
        if all(r.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for r in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"not finished in {timeout}s: {[(r.pk, r.status) for r in rows]}")


def test_forked_processes_share_the_preloaded_model_and_score_identically(
    workers, settings, tmp_path
):
    checkpoint = tiny_checkpoint(tmp_path / "tiny")
    settings.BERTSUMEXT_CHECKPOINT = str(checkpoint)  # this process: model validation
    proc = workers.start_command(
        "worker-serving",
        [
            sys.executable,
            *("-m", "celery", "-A", "summarizer_project", "worker", "-Q", "inference"),
            *("-c", "2", "--loglevel", "INFO", "-n", "serving-test@%h"),
            *("--without-gossip", "--without-mingle"),
        ],
        BERTSUMEXT_CHECKPOINT=str(checkpoint),
        INFERENCE_PRELOAD="true",
        INFERENCE_TORCH_THREADS="1",
        INFERENCE_PRECISION="fp32",
    )
    texts = toy_texts(8, sentences=7, seed=3)
    items = [DocumentInput(text=t, model="bertsumext") for t in texts]
    ids = [s.summary.pk for s in submit_documents(UserFactory(), items)]
    rows = _finished(ids)
    assert proc.poll() is None
    assert all(r.status == JobStatus.SUCCEEDED for r in rows), [r.error for r in rows]
    log = workers.logs()
    assert "preloaded bertsumext" in log
    assert log.count("inference process ready: 1 torch thread(s), model preloaded") == 2

    expected = Summarizer.load(checkpoint, precision="fp32").summarize(texts)
    for row, want in zip(rows, expected, strict=True):
        # Stored rounded to 6 decimals; another batch's padding can move the last one.
        assert [s["score"] for s in row.sentences] == pytest.approx(
            [s.score for s in want.sentences], abs=2e-6
        )
        assert [s["selected"] for s in row.sentences] == [s.selected for s in want.sentences]


def test_with_no_trained_version_the_parent_preloads_the_zero_label_default(workers, settings):
    """The parent loads what serves meanwhile, and Kiwi, before forking; the forked
    processes summarize English and Korean with it."""
    from ml.text.zero_label import ZeroLabel
    from tests.ml.fixtures.korean import korean_text

    settings.BERTSUMEXT_CHECKPOINT = ""
    proc = workers.start_command(
        "worker-serving",
        [
            sys.executable,
            *("-m", "celery", "-A", "summarizer_project", "worker", "-Q", "inference"),
            *("-c", "2", "--loglevel", "INFO", "-n", "serving-default@%h"),
            *("--without-gossip", "--without-mingle"),
        ],
        BERTSUMEXT_CHECKPOINT="",
        INFERENCE_PRELOAD="true",
        INFERENCE_TORCH_THREADS="1",
    )
    texts = [*toy_texts(3, sentences=6, seed=5), korean_text(6, seed=1), korean_text(7, seed=2)]
    ids = [
        s.summary.pk
        for s in submit_documents(UserFactory(), [DocumentInput(text=t) for t in texts])
    ]
    rows = _finished(ids)
    assert proc.poll() is None
    assert all(r.status == JobStatus.SUCCEEDED for r in rows), [r.error for r in rows]
    assert {r.model for r in rows} == {"default"}
    log = workers.logs()
    assert "preloaded default (builtin) before forking" in log
    assert log.count("inference process ready: 1 torch thread(s), model preloaded") == 2

    expected = ZeroLabel(max_graph_sentences=settings.MAX_DOCUMENT_SENTENCES).summarize(texts)
    for row, want in zip(rows, expected, strict=True):
        assert [s["selected"] for s in row.sentences] == [s.selected for s in want.sentences]
