"""Documents: submission (one, a batch), validation, dataset import."""

import pytest

from jobs.models import Document, JobStatus, Summary
from jobs.services.documents import (
    DocumentInput,
    import_examples,
    submit_document,
    submit_documents,
)
from jobs.services.errors import BatchInvalid, InvalidInput
from tests.factories import ARTICLE

pytestmark = pytest.mark.django_db


def test_submit_document_stores_document_and_queues_summary(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        sub = submit_document(user, DocumentInput(text=ARTICLE, title="Fest"))
    assert sub.document.owner == user
    assert sub.document.language == "en"
    assert len(sub.document.sha256) == 64
    assert sub.summary.status == JobStatus.QUEUED
    assert sub.summary.enqueued_at is not None
    # Exactly one message, sent only after the transaction commits.
    assert len(callbacks) == 1


def test_submit_without_summarize_creates_no_summary(user):
    sub = submit_document(user, DocumentInput(text=ARTICLE, summarize=False))
    assert sub.summary is None
    assert not Summary.objects.exists()


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (DocumentInput(text="   \n "), "text"),
        (DocumentInput(text=ARTICLE, model="gpt"), "model"),
        (DocumentInput(text=ARTICLE, max_sentences=0), "max_sentences"),
        (DocumentInput(text=ARTICLE, max_sentences=99), "max_sentences"),
        (DocumentInput(text="a\x00b"), "text"),
        (DocumentInput(text=ARTICLE, split="holdout"), "split"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(user, item, field):
    with pytest.raises(InvalidInput) as err:
        submit_document(user, item)
    assert err.value.field == field
    assert not Document.objects.exists()


def test_untrained_model_is_refused_with_the_available_ones(user, settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    with pytest.raises(InvalidInput, match="no trained version yet; available: lead3"):
        submit_document(user, DocumentInput(text=ARTICLE, model="bertsumext"))


def test_batch_is_all_or_nothing(user):
    items = [DocumentInput(text=ARTICLE), DocumentInput(text=" ")]
    with pytest.raises(BatchInvalid) as err:
        submit_documents(user, items)
    assert list(err.value.errors) == [1]
    assert not Document.objects.exists()


def test_import_examples_skips_duplicates(user):
    from ml.text.data import Example

    examples = [Example("a", ARTICLE, "Ref one."), Example("b", ARTICLE + " More.", "Ref.")]
    assert import_examples(user, examples, "train") == (2, 0)
    assert import_examples(user, examples, "train") == (0, 2)
    assert Document.objects.filter(split="train").count() == 2
    assert Document.objects.get(source_id="a").reference_summary == "Ref one."
