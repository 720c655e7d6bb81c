"""A real inference worker serves a Korean document sent to a model whose encoder
cannot read Korean with the fallback model, and the summary's notes say why; the
English document of the same batch is served by the model (issue #23)."""

import time

import pytest

from jobs import engines
from jobs.models import JobStatus, Summary
from jobs.services.documents import DocumentInput, submit_documents
from tests.factories import UserFactory
from tests.ml.fixtures.bertsumext import tiny_checkpoint, toy_texts
from tests.ml.fixtures.korean import korean_text

pytestmark = pytest.mark.integration


def _finished(ids, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Summary.objects.filter(pk__in=ids).order_by("pk"))
        if all(r.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for r in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"not finished in {timeout}s: {[(r.pk, r.status) for r in rows]}")


def test_a_korean_document_is_served_by_the_fallback_with_a_note(workers, settings, tmp_path):
    checkpoint = tiny_checkpoint(tmp_path / "tiny")
    settings.BERTSUMEXT_CHECKPOINT = str(checkpoint)  # this process: model validation
    workers.start(
        BERTSUMEXT_CHECKPOINT=str(checkpoint),
        INFERENCE_PRELOAD="false",
        INFERENCE_PRECISION="fp32",
        INFERENCE_BATCH_WAIT_MS="500",
    )
    english = toy_texts(1, sentences=6, seed=4)[0]
    items = [
        DocumentInput(text=english, model="bertsumext", max_sentences=2),
        DocumentInput(text=korean_text(6, seed=1), model="bertsumext", max_sentences=2),
        DocumentInput(text=korean_text(5, seed=2), max_sentences=2),  # the default model
    ]
    ids = [s.summary.pk for s in submit_documents(UserFactory(), items)]
    english_row, korean_row, default_row = _finished(ids)
    assert all(r.status == JobStatus.SUCCEEDED for r in (english_row, korean_row, default_row))

    assert english_row.model == "bertsumext"
    assert "Korean" not in english_row.notes
    for row in (korean_row, default_row):
        assert row.model == engines.fallback_kind() == "default"
        assert row.model_version == "builtin"
        assert row.version_id is None
        assert "The document is in Korean ('ko'), which the encoder 'all-MiniLM-L6-v2'" in (
            row.notes
        )
        assert "served by the default model instead" in row.notes
        assert sum(s["selected"] for s in row.sentences) == 2  # max_sentences
    assert len(korean_row.sentences) == 6 and len(default_row.sentences) == 5
