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
from jobs.text import split_sentences
from jobs.workers.training_data import build_training_data
from tests.factories import DocumentFactory
from tests.jobs.training_fixtures import make_corpus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


def sentence(document, index: int) -> str:
    """The text of sentence `index` as a run stores it in a SentenceError."""
    return split_sentences(document.text, document.language or None)[index].text


def test_flip_and_confirm_change_the_next_runs_labels(staff):
    docs = make_corpus(staff, train=2, val=1)
    run = TrainingRun.objects.create(kind="bertsumext")
    error = SentenceError.objects.create(
        run=run,
        document=docs[0],
        sentence_index=4,
        text=sentence(docs[0], 4),
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


def test_undo_and_revert_restore_the_state_before_and_keep_every_event(staff):
    from jobs.models import ReviewEvent
    from jobs.services.reviews import last_decision, revert_override, undo

    docs = make_corpus(staff, train=1, val=0)
    run = TrainingRun.objects.create(kind="bertsumext")
    error = SentenceError.objects.create(
        run=run, document=docs[0], sentence_index=2, text=sentence(docs[0], 2), start=0, end=1,
        label=1, probability=0.1, kind="fn",
    )  # fmt: skip
    flip_label(error, staff)
    confirm_label(error, staff)  # a second decision on the same sentence
    undo(last_decision(staff, run_id=run.pk), staff)  # back to flipped, with its override
    error.refresh_from_db()
    assert error.review_status == ReviewStatus.FLIPPED
    assert list(LabelOverride.objects.values_list("sentence_index", "label")) == [(2, 0)]
    with pytest.raises(InvalidInput, match="already undone"):
        undo(ReviewEvent.objects.get(action="confirm"), staff)

    event = revert_override(LabelOverride.objects.get(), staff)
    error.refresh_from_db()
    assert error.review_status == ReviewStatus.OPEN and not LabelOverride.objects.exists()
    assert (event.label_before, event.label_after) == (0, None)
    undo(event, staff)  # a revert can be undone too
    assert list(LabelOverride.objects.values_list("sentence_index", "label")) == [(2, 0)]
    actions = list(ReviewEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["flip", "confirm", "undo", "revert", "undo"]
    labels = {ex.id: ex.labels for ex in build_training_data(TrainingRun(kind="bertsumext")).train}
    assert labels[str(docs[0].pk)] == {2: 0}
