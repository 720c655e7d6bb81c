"""Staff labels stay on their sentence when the splitter changes (issue #22 follow-up):
a label keeps its sentence's text, and training data, the labelling page and the
document view apply it to the sentence with that text, or leave it out."""

from __future__ import annotations

import importlib
import itertools
import logging

import pytest
from django.apps import apps
from django.contrib.admin.sites import site

import ml.text.sentences as sentences
from jobs.admin.labelling import label_rows
from jobs.models import LabelOverride, ReviewEvent, TrainingRun
from jobs.queries.documents import highlight, sentence_spans
from jobs.services.documents import DocumentInput, submit_document
from jobs.services.reviews import PARKED, labels_of, remove_label, set_label, set_labels, undo
from jobs.text import anchor_labels, anchored_labels, split_sentences
from jobs.workers.training_data import build_training_data
from tests.factories import ARTICLE, DocumentFactory

pytestmark = pytest.mark.django_db

S = [
    "The river festival opened on Saturday with a parade of paper boats.",
    "Organisers said more than two thousand people lined the banks.",
    "A local choir sang from a barge moored near the old mill.",
    "Food stalls ran out of lemonade by the early afternoon.",
    "The festival continues until Monday evening with fireworks.",
]


@pytest.fixture
def resplit(monkeypatch):
    """``resplit(*before)``: from now on the splitter also cuts before each of `before`
    (a new splitter version, say): every caller, ml's and the app's, sees the new
    sentences. The spans a process caches are forgotten before and after."""
    original = sentences._punkt_pieces

    def cut_before(*before: str) -> None:
        def pieces(chunk: str, lang: str) -> list[tuple[int, int]]:
            out = []
            for start, end in original(chunk, lang):
                piece = chunk[start:end]
                inner = sorted(start + piece.find(m) for m in before if piece.find(m) > 0)
                out += list(itertools.pairwise([start, *inner, end]))
            return out

        monkeypatch.setattr(sentences, "_punkt_pieces", pieces)
        sentence_spans.cache_clear()

    yield cut_before
    sentence_spans.cache_clear()


def upload(owner, text=ARTICLE):
    return submit_document(owner, DocumentInput(text=text, summarize=False)).document


def example_of(data, doc):
    [example] = [ex for ex in data.train + data.val if ex.id == str(doc.pk)]
    return example


def test_anchoring_keeps_moves_or_leaves_out_each_label():
    now = ["A.", "B  one.", "C.", "D.", "D."]
    rows = [
        (0, "A."),  # in place
        (1, "B one."),  # in place (whitespace does not count)
        (0, "C."),  # moved: its text is at 2
        (3, "Gone."),  # no sentence has it
        (1, "D."),  # two sentences have it
        (4, ""),  # made before texts were kept: by index
        (9, ""),  # by index even past the end, as before
    ]
    assert anchor_labels(now, rows) == [0, 1, 2, None, None, 4, 9]
    # A moved label never takes a sentence another label holds in place.
    assert anchor_labels(["A.", "B."], [(0, "B."), (1, "B.")]) == [None, 1]
    result = anchored_labels(["X.", "A."], [(0, "A.", 1), (1, "Gone.", 0)])
    assert (result.labels, result.moved, result.dropped) == ({1: 1}, [(0, 1)], [(1, "Gone.")])


def test_a_label_keeps_its_sentences_text_on_every_copy(staff, user):
    doc = upload(user)
    copy = upload(user)
    set_label(doc, 1, 1, staff)
    later = upload(user)  # a new copy gets the labels (share_labels), text included
    texts = set(LabelOverride.objects.values_list("document_id", "sentence_text"))
    assert texts == {(doc.pk, S[1]), (copy.pk, S[1]), (later.pk, S[1])}


def test_training_labels_the_same_sentence_after_the_splitter_changed(
    staff, user, resplit, settings
):
    settings.LABELLED_VALIDATION_FRACTION = 0.0
    doc = upload(user)
    set_labels(doc, {1: 1, 3: 1}, staff)
    resplit("with a parade")  # one more sentence before both labels
    now = [s.text for s in split_sentences(ARTICLE, "en")]
    assert now[2:] == S[1:] and len(now) == 6

    data = build_training_data(TrainingRun(kind="bertsumext"))
    example = example_of(data, doc)
    assert [now[i] for i, label in example.labels.items() if label] == [S[1], S[3]]
    assert example.reference == f"{S[1]}\n{S[3]}"
    assert data.summary["labels_reanchored"] == 2
    assert data.summary["labels_dropped"] == 0


def test_a_label_whose_sentence_is_gone_is_left_out_counted_and_logged(
    staff, user, resplit, settings, caplog
):
    settings.LABELLED_VALIDATION_FRACTION = 0.0
    doc = upload(user)
    set_labels(doc, {1: 1, 3: 1}, staff)
    resplit("by the early afternoon")  # sentence 3 is two sentences now

    with caplog.at_level(logging.WARNING, logger="jobs.workers.training_data"):
        data = build_training_data(TrainingRun(kind="bertsumext"))
    example = example_of(data, doc)
    assert {i for i, label in example.labels.items() if label} == {1}
    assert example.reference == S[1]
    assert (data.summary["labels_reanchored"], data.summary["labels_dropped"]) == (0, 1)
    assert data.summary["label_overrides"] == 2  # the records: both are still there
    assert f"document {doc.pk} sentence 3" in caplog.text and S[3] in caplog.text


def test_a_label_stored_without_text_still_applies_by_index(staff, resplit):
    doc = DocumentFactory(owner=staff, split="train", reference_summary=S[4])
    LabelOverride.objects.create(document=doc, sentence_index=1, label=1)  # before texts
    resplit("with a parade")
    data = build_training_data(TrainingRun(kind="bertsumext"))
    assert example_of(data, doc).labels == {1: 1}
    assert (data.summary["labels_reanchored"], data.summary["labels_dropped"]) == (0, 0)


def test_the_migration_fills_the_text_of_existing_labels(staff):
    migration = importlib.import_module("jobs.migrations.0020_label_override_sentence_text")
    doc = DocumentFactory(owner=staff, split="train", reference_summary=S[4])
    LabelOverride.objects.create(document=doc, sentence_index=2, label=1)
    LabelOverride.objects.create(document=doc, sentence_index=7, label=0)  # out of range
    migration.fill_sentence_text(apps, None)
    texts = dict(LabelOverride.objects.values_list("sentence_index", "sentence_text"))
    assert texts == {2: S[2], 7: ""}


def test_the_pages_show_a_label_on_its_sentence_and_writes_meet_it(staff, user, resplit):
    doc = upload(user)
    set_label(doc, 1, 1, staff)
    resplit("with a parade")

    assert {i: o.label for i, o in labels_of(doc).items()} == {2: 1}
    rows = label_rows(doc)
    assert [(r.index, r.text) for r in rows if r.label is not None] == [(2, S[1])]
    # The document view, on a summary split the new way.
    spans = split_sentences(doc.text, "en")
    split = [{"index": i, "start": s.start, "end": s.end} for i, s in enumerate(spans)]
    labelled = [
        (seg.sentence.text, seg.sentence.gold_label)
        for seg in highlight(doc, split)
        if seg.sentence and seg.sentence.gold_label is not None
    ]
    assert labelled == [(S[1], 1)]

    # Labelling sentence 1 now ("with a parade ...") leaves the label of S[1] alone, and
    # removing the label shown at 2 removes that one.
    set_label(doc, 1, 0, staff)
    assert dict(LabelOverride.objects.values_list("sentence_text", "sentence_index")) == {
        S[1]: 2,
        "with a parade of paper boats.": 1,
    }
    remove_label(doc, 2, staff)
    assert list(LabelOverride.objects.values_list("sentence_index", "label")) == [(1, 0)]


def test_a_label_whose_sentence_is_gone_stays_out_of_the_way_of_a_new_one(staff, user, resplit):
    doc = upload(user)
    set_label(doc, 3, 1, staff)
    resplit("by the early afternoon")
    assert labels_of(doc) == {}  # the page shows no label on "Food stalls ran out ..."
    set_label(doc, 3, 0, staff)
    rows = dict(LabelOverride.objects.values_list("sentence_text", "sentence_index"))
    assert rows == {S[3]: PARKED + 3, "Food stalls ran out of lemonade": 3}
    assert {i: o.label for i, o in labels_of(doc).items()} == {3: 0}


def test_the_label_list_shows_the_stored_sentence_and_where_it_applies_now(staff, user, resplit):
    doc = upload(user)
    set_labels(doc, {1: 1, 3: 1}, staff)
    resplit("with a parade", "by the early afternoon")
    admin = site._registry[LabelOverride]
    shown = {o.sentence_index: admin.sentence(o) for o in LabelOverride.objects.all()}
    assert shown == {
        1: f"{S[1]} (sentence 2 now)",
        3: f"{S[3]} (no longer in the text: left out of training)",
    }


def test_a_second_label_left_out_at_the_same_index_is_parked_beside_the_first(staff, user, resplit):
    """Two splitter changes, each leaving out the label of sentence 3: both stay
    (parked), and sentence 3 can still be labelled."""
    doc = upload(user)
    set_label(doc, 3, 1, staff)
    resplit("by the early afternoon")
    set_label(doc, 3, 0, staff)  # the first is parked at PARKED + 3
    resplit("ran out of")  # "Food stalls ran out of lemonade" is gone too
    set_label(doc, 3, 1, staff)
    texts = sorted(LabelOverride.objects.values_list("sentence_text", flat=True))
    assert texts == sorted([S[3], "Food stalls ran out of lemonade", "Food stalls"])
    assert {i: o.label for i, o in labels_of(doc).items()} == {3: 1}
    assert all(
        i < 4 or i >= PARKED for i in LabelOverride.objects.values_list("sentence_index", flat=True)
    )


def test_undoing_a_label_after_the_splitter_changed_undoes_that_sentences_label(
    staff, user, resplit
):
    doc = upload(user)
    set_label(doc, 1, 1, staff)  # S[1]
    resplit("with a parade")  # S[1] is sentence 2 now; 1 is "with a parade ..."
    set_label(doc, 1, 0, staff)  # another sentence, labelled under the new splitting
    undo(ReviewEvent.objects.get(action="label", sentence_index=1, label_after=1), staff)
    # The label of S[1] is gone; the one of "with a parade ..." stays.
    assert {i: o.label for i, o in labels_of(doc).items()} == {1: 0}
    assert list(LabelOverride.objects.values_list("sentence_text", flat=True)) == [
        "with a parade of paper boats."
    ]


def test_a_review_flip_after_the_splitter_changed_labels_the_sentence_the_run_saw(
    staff, user, resplit
):
    """A run stores each misclassified sentence's text; a flip made after the splitting
    changed labels the sentence with that text, and one that is no longer a sentence is
    refused with a reason, not labelled elsewhere."""
    from jobs.models import SentenceError
    from jobs.services.errors import InvalidInput
    from jobs.services.reviews import confirm_label, flip_label

    doc = upload(user)
    run = TrainingRun.objects.create(kind="bertsumext")
    spans = split_sentences(doc.text)
    seen = {
        i: SentenceError.objects.create(
            run=run, document=doc, sentence_index=i, text=spans[i].text,
            start=spans[i].start, end=spans[i].end, label=0, kind="fn",
        )
        for i in (2, 3)
    }  # fmt: skip
    resplit("with a parade", "by the early")  # +1 before S[2]; S[3] is cut in two
    flip_label(seen[2], staff)
    assert {i: o.label for i, o in labels_of(doc).items()} == {3: 1}
    assert LabelOverride.objects.get().sentence_text == S[2]
    assert ReviewEvent.objects.get(action="flip").sentence_index == 3
    with pytest.raises(InvalidInput, match="no longer one sentence"):
        flip_label(seen[3], staff)
    confirm_label(seen[2], staff)  # drops the flip's label where it is now
    assert not LabelOverride.objects.exists()


def test_the_bulk_flip_refuses_all_when_one_sentence_is_gone(client, staff, user, resplit):
    from django.urls import reverse

    from jobs.models import SentenceError

    doc = upload(user)
    run = TrainingRun.objects.create(kind="bertsumext")
    spans = split_sentences(doc.text)
    errors = [
        SentenceError.objects.create(
            run=run, document=doc, sentence_index=i, text=spans[i].text,
            start=spans[i].start, end=spans[i].end, label=0, kind="fn",
        )
        for i in (1, 3)
    ]  # fmt: skip
    resplit("by the early")  # S[3] is no longer one sentence
    client.force_login(staff)
    response = client.post(
        reverse("admin:jobs_sentenceerror_changelist"),
        {"action": "flip_labels", "_selected_action": [e.pk for e in errors]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Nothing flipped: this sentence is no longer one sentence" in response.content.decode()
    assert not LabelOverride.objects.exists()
    assert set(SentenceError.objects.values_list("review_status", flat=True)) == {"open"}
