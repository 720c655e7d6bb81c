"""Label corrections: flip and confirm change the next run's labels; checks."""

import pytest

from jobs.models import (
    LabelOverride,
    ReviewStatus,
    SentenceError,
    TrainingRun,
)
from jobs.services.errors import InvalidInput
from jobs.services.reviews import confirm_label, flip_label, set_label
from jobs.workers.training_data import build_training_data
from tests.factories import DocumentFactory
from tests.jobs.training_fixtures import make_corpus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


def test_flip_and_confirm_change_the_next_runs_labels(staff):
    docs = make_corpus(staff, train=2, val=1)
    run = TrainingRun.objects.create(kind="bertsumext")
    error = SentenceError.objects.create(
        run=run,
        document=docs[0],
        sentence_index=4,
        text="x",
        start=0,
        end=1,
        label=0,
        probability=0.9,
        kind="fp",
    )
    flip_label(error, staff)
    error.refresh_from_db()
    assert error.review_status == ReviewStatus.FLIPPED
    data = build_training_data(TrainingRun(kind="bertsumext"))
    labels = {ex.id: ex.labels for ex in data.train}
    assert labels[str(docs[0].pk)] == {4: 1}
    assert labels[str(docs[1].pk)] is None
    before = data.sha256

    confirm_label(error, staff)
    assert not LabelOverride.objects.exists()
    after = build_training_data(TrainingRun(kind="bertsumext")).sha256
    assert after != before  # the data hash follows the labels


def test_set_label_checks_the_sentence_index(staff):
    doc = DocumentFactory(owner=staff)
    with pytest.raises(InvalidInput, match="sentence_index must be from 0 to 4"):
        set_label(doc, 9, 1, staff)
    with pytest.raises(InvalidInput, match="label must be 0"):
        set_label(doc, 1, 2, staff)
