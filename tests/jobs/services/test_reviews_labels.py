"""Staff labels as a record (issue #22): source, who and when, history with undo and
removal, copies of a text sharing one set of labels, the split a labelled document
gets, and the training data a staff-labelled document becomes."""

import pytest

from jobs.models import (
    Document,
    LabelOverride,
    LabelSource,
    ReviewEvent,
    SentenceError,
    Split,
    TrainingRun,
)
from jobs.services.documents import DocumentInput, submit_document, submit_documents
from jobs.services.errors import InvalidInput, NotAllowed
from jobs.services.manifests import labelled_documents
from jobs.services.reviews import (
    flip_label,
    last_decision,
    remove_label,
    set_label,
    set_labels,
    undo,
)
from jobs.services.splits import hash_fraction, labelled_split, move_to_split
from jobs.services.training import start_training
from jobs.text import split_sentences
from jobs.workers.training_data import build_training_data
from ml.text.data import Example
from tests.factories import ARTICLE, DocumentFactory
from tests.jobs.training_fixtures import make_corpus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_dirs")]


def sentence(document, index: int) -> str:
    """The text of sentence `index` as a run stores it in a SentenceError."""
    return split_sentences(document.text, document.language or None)[index].text


SENTENCES = [
    "The river festival opened on Saturday with a parade of paper boats.",
    "Organisers said more than two thousand people lined the banks.",
    "A local choir sang from a barge moored near the old mill.",
    "Food stalls ran out of lemonade by the early afternoon.",
    "The festival continues until Monday evening with fireworks.",
]


def upload(owner, text=ARTICLE, **kw):
    return submit_document(owner, DocumentInput(text=text, summarize=False, **kw)).document


def test_a_staff_label_keeps_its_source_who_and_when_and_is_in_the_history(staff, user):
    doc = upload(user)
    override = set_label(doc, 1, 1, staff)
    assert (override.label, override.source, override.created_by) == (1, "staff", staff)
    assert override.updated_at is not None
    event = ReviewEvent.objects.get()
    assert (event.action, event.label_before, event.label_after, event.by) == (
        "label",
        None,
        1,
        staff,
    )
    # On a document with a reference it replaces the oracle's label: a correction.
    referenced = DocumentFactory(
        owner=staff, text="One thing. Two things.", reference_summary="One thing.", split="train"
    )
    assert set_label(referenced, 1, 1, staff).source == LabelSource.CORRECTION


def test_only_staff_label(user):
    doc = upload(user)
    with pytest.raises(NotAllowed):
        set_label(doc, 0, 1, user)
    with pytest.raises(NotAllowed):
        remove_label(doc, 0, user)
    assert not LabelOverride.objects.exists() and not ReviewEvent.objects.exists()


def test_removal_is_recorded_and_undo_brings_the_label_back(staff, user):
    doc = upload(user)
    set_label(doc, 2, 1, staff)
    removal = remove_label(doc, 2, staff)
    assert not LabelOverride.objects.exists()
    assert (removal.action, removal.label_before, removal.label_after) == ("unlabel", 1, None)
    assert removal.get_action_display() == "Removed a staff label"
    assert last_decision(staff, document_id=doc.pk) == removal
    undo(removal, staff)
    assert LabelOverride.objects.get().label == 1
    # Undo of a label puts back what was before it (no label), and shows in the history.
    label = ReviewEvent.objects.get(action="label")
    with pytest.raises(InvalidInput, match="already undone"):
        undo(removal, staff)
    undo(label, staff)
    assert not LabelOverride.objects.exists()
    assert list(ReviewEvent.objects.values_list("action", flat=True)) == [
        "undo",
        "undo",
        "unlabel",
        "label",
    ]
    with pytest.raises(InvalidInput, match="no staff label"):
        remove_label(doc, 2, staff)


def test_copies_of_a_text_share_one_set_of_labels(staff, user):
    first = upload(user)
    second = upload(staff)  # the same text, another owner
    set_label(second, 0, 1, staff)
    assert dict(LabelOverride.objects.values_list("document_id", "label")) == {
        first.pk: 1,
        second.pk: 1,
    }
    third = upload(user)  # a later copy gets the labels the text has
    assert LabelOverride.objects.get(document=third).label == 1
    [fourth] = [
        s.document for s in submit_documents(user, [DocumentInput(text=ARTICLE, summarize=False)])
    ]
    assert LabelOverride.objects.get(document=fourth).label == 1
    remove_label(first, 0, staff)  # removing on one copy removes it on all
    assert not LabelOverride.objects.exists()
    # The copies there when it was labelled went to the split of the rule (later ones
    # only share the labels); training counts the text once.
    split = labelled_split(first.sha256)
    assert {Document.objects.get(pk=d.pk).split for d in (first, second)} == {split}
    assert {Document.objects.get(pk=d.pk).split for d in (third, fourth)} == {""}
    set_label(third, 0, 1, staff)
    assert Document.objects.filter(split=split).count() == 4
    assert labelled_documents(split).count() == 1


def test_a_flip_on_one_copy_is_a_correction_on_every_copy(staff):
    a = DocumentFactory(owner=staff, split="validation", reference_summary="x")
    b = DocumentFactory(owner=staff, split="validation", reference_summary="x")
    run = TrainingRun.objects.create(kind="bertsumext")
    error = SentenceError.objects.create(
        run=run,
        document=a,
        sentence_index=1,
        text=sentence(a, 1),
        start=0,
        end=1,
        label=0,
        kind="fn",
    )
    flip_label(error, staff)
    rows = LabelOverride.objects.order_by("document_id")
    assert [(o.document_id, o.label, o.source_error_id, o.source) for o in rows] == [
        (a.pk, 1, error.pk, "correction"),
        (b.pk, 1, error.pk, "correction"),
    ]


def test_labelled_documents_go_to_validation_by_a_stable_fraction_of_their_hash(
    staff, user, settings
):
    settings.LABELLED_VALIDATION_FRACTION = 0.2
    texts = [f"Text number {i}. It has two sentences." for i in range(60)]
    docs = [upload(user, text) for text in texts]
    for doc in docs:
        set_label(doc, 0, 1, staff)
    splits = [Document.objects.get(pk=d.pk).split for d in docs]
    expected = [Split.VALIDATION if hash_fraction(d.sha256) < 0.2 else Split.TRAIN for d in docs]
    assert splits == expected
    assert 3 <= splits.count(Split.VALIDATION) <= 24  # about a fifth of 60
    # The rule is stable: the same text, the same split; 0 and 1 send all one way.
    assert labelled_split(docs[0].sha256) == splits[0]
    settings.LABELLED_VALIDATION_FRACTION = 0.0
    assert labelled_split(docs[0].sha256) == Split.TRAIN
    settings.LABELLED_VALIDATION_FRACTION = 1.0
    assert labelled_split(docs[0].sha256) == Split.VALIDATION
    # A document staff already put in a split keeps it.
    kept = DocumentFactory(owner=staff, text="Kept here. For testing.", split="test")
    set_label(kept, 0, 1, staff)
    kept.refresh_from_db()
    assert kept.split == "test"


def test_set_labels_is_all_or_nothing(staff, user):
    doc = upload(user)
    with pytest.raises(InvalidInput, match="sentence_index"):
        set_labels(doc, {0: 1, 99: 1}, staff)
    assert not LabelOverride.objects.exists()
    doc.refresh_from_db()
    assert doc.split == ""


def test_only_staff_move_splits(staff, user):
    doc = upload(user)
    with pytest.raises(NotAllowed):
        move_to_split([doc], "train", user)
    assert move_to_split([doc], "train", staff) == 1
    doc.refresh_from_db()
    assert doc.split == "train"
    with pytest.raises(InvalidInput, match="split must be one of"):
        move_to_split([doc], "holdout", staff)


def test_example_from_labels_trains_on_them_and_judges_by_the_selected_sentences():
    example = Example.from_labels("7", ARTICLE, {1: 1, 3: 1, 4: 0})
    assert example.labels == {0: 0, 1: 1, 2: 0, 3: 1, 4: 0}
    assert example.reference == "\n".join([SENTENCES[1], SENTENCES[3]])
    assert Example.from_labels("8", ARTICLE, {9: 1}).labels == dict.fromkeys(range(5), 0)


def test_a_staff_labelled_upload_is_training_data_without_a_reference(staff, user):
    make_corpus(staff, train=2, val=1)
    doc = upload(user)
    set_labels(doc, {1: 1, 3: 1}, staff)
    doc.refresh_from_db()
    assert doc.split in (Split.TRAIN, Split.VALIDATION)
    assert doc in labelled_documents(doc.split)
    run = TrainingRun(kind="bertsumext", train_split="train", val_split="validation")
    data = build_training_data(run)
    part = data.train if doc.split == Split.TRAIN else data.val
    [example] = [ex for ex in part if ex.id == str(doc.pk)]
    assert example.labels == {0: 0, 1: 1, 2: 0, 3: 1, 4: 0}
    assert example.reference == f"{SENTENCES[1]}\n{SENTENCES[3]}"
    assert data.summary["label_overrides"] == 2


def test_a_run_can_validate_on_staff_labelled_documents_alone(staff, user, settings):
    settings.LABELLED_VALIDATION_FRACTION = 1.0  # every labelled text is held out
    make_corpus(staff, train=2, val=0)
    with pytest.raises(InvalidInput, match="no documents in split 'validation'"):
        start_training("bertsumext")
    set_label(upload(user), 0, 1, staff)
    assert start_training("bertsumext").val_split == "validation"


def test_training_counts_a_duplicated_training_text_once(staff):
    docs = make_corpus(staff, train=2, val=1)
    copy = submit_document(
        staff,
        DocumentInput(
            text=docs[0].text, reference_summary=docs[0].reference_summary, split="train"
        ),
    )
    assert copy.duplicate_of == ("train",)
    assert labelled_documents("train").count() == 2
    assert build_training_data(TrainingRun(kind="bertsumext")).summary["train_documents"] == 2


def test_a_text_is_never_in_two_splits_when_a_copy_is_labelled(staff, user):
    """Review finding: a copy labelled while another copy of its text is already in a
    split took the hash rule's split, so the same text was trained on and judged by
    (or leaked into test)."""
    for split in (Split.TRAIN, Split.VALIDATION, Split.TEST):
        text = f"Copies in {split}. They share one split. Always."
        DocumentFactory(owner=staff, text=text, reference_summary="x.", split=split)
        upload_copy = upload(user, text)
        set_label(upload_copy, 0, 1, staff)
        assert set(
            Document.objects.filter(sha256=upload_copy.sha256).values_list("split", flat=True)
        ) == {split}
    # The labelled document's own split decides for its unplaced copies too.
    kept = DocumentFactory(owner=staff, text="Kept in test. With a copy.", split="test")
    copy = upload(user, "Kept in test. With a copy.")
    set_label(kept, 0, 1, staff)
    copy.refresh_from_db()
    assert copy.split == Split.TEST


def test_moving_a_copy_moves_the_copies_in_splits_with_it(staff, user):
    """Review finding: moving one copy left the others where they were, so one text was
    in train and validation at once (trained on, and judged by)."""
    first = upload(user)
    second = upload(staff)
    set_label(second, 0, 1, staff)
    placed = Document.objects.get(pk=first.pk).split
    other = Split.TRAIN if placed == Split.VALIDATION else Split.VALIDATION
    unplaced = upload(user)  # a later copy: shares the labels, in no split
    move_to_split([second], other, staff)
    assert Document.objects.get(pk=first.pk).split == other
    assert Document.objects.get(pk=unplaced.pk).split == ""
    assert labelled_documents(placed).count() == 0
    assert labelled_documents(other).count() == 1


def test_removing_a_flipped_label_reopens_its_sentence_and_undo_flips_it_again(staff):
    """Review finding: removing (x on the labelling page) the label a review flip made
    left its misclassified sentence "Gold label flipped" with no label behind it, so the
    review queue said the opposite of what the next run uses."""
    doc = DocumentFactory(owner=staff, split="train", reference_summary=SENTENCES[0])
    run = TrainingRun.objects.create(kind="bertsumext")
    error = SentenceError.objects.create(
        run=run,
        document=doc,
        sentence_index=1,
        text=sentence(doc, 1),
        start=0,
        end=1,
        label=0,
        kind="fn",
    )
    flip_label(error, staff)
    removal = remove_label(doc, 1, staff)
    error.refresh_from_db()
    assert error.review_status == "open" and not LabelOverride.objects.exists()
    assert (removal.error, removal.status_before, removal.status_after) == (
        error,
        "flipped",
        "open",
    )
    undo(removal, staff)
    error.refresh_from_db()
    assert error.review_status == "flipped"
    assert LabelOverride.objects.get().source_error == error
