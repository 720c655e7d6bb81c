import json

import pytest

import ml.models.bertsumext.features as ext_data
from ml.encoders import load_tokenizer
from ml.models.bertsumext.features import (
    CUT_MAX_POS,
    CUT_MAX_SENTENCES,
    CUT_SHORT,
    cached_features,
    collate,
    document_windows,
    featurize,
    oracle_labels,
    window_bounds,
)
from ml.text.data import Example
from tests.ml.fixtures.bertsumext import tiny_config

TOK = load_tokenizer("default")

# Hand-made news story; the reference reuses sentences 1 and 3.
STORY = (
    "The city council met on Monday night to discuss the budget. "
    "Council members approved a new library for the northern district. "
    "It rained. "
    "The library will open next spring with ten thousand books. "
    "Residents said they were pleased with the decision."
)
REFERENCE = (
    "Council approved a new library for the northern district.\n"
    "The library will open next spring with many books."
)


def test_oracle_labels_follow_the_reference_and_staff_overrides():
    sents = [
        "The city council met on Monday night to discuss the budget.",
        "Council members approved a new library for the northern district.",
        "It rained.",
        "The library will open next spring with ten thousand books.",
        "Residents said they were pleased with the decision.",
    ]
    assert oracle_labels(sents, REFERENCE, None, 3) == [0, 1, 0, 1, 0]
    assert oracle_labels(sents, REFERENCE, None, 1) == [0, 1, 0, 0, 0]
    # Staff corrections replace the oracle label of those sentences only.
    assert oracle_labels(sents, REFERENCE, {1: 0, 4: 1}, 3) == [0, 0, 0, 1, 1]
    assert oracle_labels(sents, "", {0: 1}, 3) == [1, 0, 0, 0, 0]
    assert oracle_labels(sents, "", None, 3) is None
    with pytest.raises(ValueError, match="5 sentences"):
        oracle_labels(sents, REFERENCE, {7: 1}, 3)


def test_short_sentences_are_recorded_not_lost():
    (doc,) = featurize([Example("s", STORY, REFERENCE)], TOK, tiny_config(), training=True)
    assert len(doc.spans) == 5
    assert doc.labels == [0, 1, 0, 1, 0]
    assert doc.scored == [0, 1, 3, 4]  # "It rained." has <= 5 word tokens
    assert [(c.index, c.reason, c.label) for c in doc.cuts] == [(2, CUT_SHORT, 0)]
    for (start, end), ids in zip([doc.spans[i] for i in doc.scored], doc.token_ids, strict=True):
        assert ids == TOK(STORY[start:end], add_special_tokens=False)["input_ids"]


def test_a_text_of_short_sentences_is_still_scored():
    (doc,) = featurize([Example("s", "Yes. No. Maybe so.")], TOK, tiny_config(), training=False)
    assert doc.scored == [0, 1, 2] and doc.labels is None


def test_segment_ids_alternate_per_sentence_and_cls_positions_point_at_cls():
    (doc,) = featurize([Example("s", STORY, REFERENCE)], TOK, tiny_config(), training=True)
    (window,) = document_windows(doc, 0, TOK, tiny_config())
    ids, segs, cls = window.input_ids, window.token_type_ids, window.cls_positions
    assert len(cls) == 4
    assert [ids[c] for c in cls] == [TOK.cls_token_id] * 4
    assert ids[-1] == TOK.sep_token_id
    bounds = [*cls, len(ids)]
    for k in range(4):
        piece = range(bounds[k], bounds[k + 1])
        assert {segs[t] for t in piece} == {k % 2}
        assert ids[bounds[k + 1] - 1] == TOK.sep_token_id
    assert window.labels == [0, 1, 1, 0]
    batch = collate([window], TOK.pad_token_id)
    assert batch.input_ids.shape == (1, len(ids))
    assert batch.cls_positions[0].tolist() == cls
    assert batch.sentence_positions[0].tolist() == [0, 1, 2, 3]
    assert batch.labels is not None and batch.labels[0].tolist() == [0, 1, 1, 0]


def test_cut_at_max_pos_records_sentences_and_labels_like_presumm():
    config = tiny_config(max_pos=20, long_documents="truncate")
    (doc,) = featurize([Example("s", STORY, REFERENCE)], TOK, config, training=True)
    (window,) = document_windows(doc, 0, TOK, config)
    assert len(window.input_ids) == 20 and window.input_ids[-1] == TOK.sep_token_id
    assert all(c < 20 for c in window.cls_positions)
    kept = len(window.cls_positions)
    assert kept < 4
    cut = [c for c in doc.cuts if c.reason == CUT_MAX_POS]
    assert [c.index for c in cut] == doc.scored[kept:]
    assert 3 in doc.cut_positives  # a positive label beyond max_pos is reported, not dropped


def test_max_train_sentences_is_recorded():
    config = tiny_config(max_train_sentences=2)
    (doc,) = featurize([Example("s", STORY, REFERENCE)], TOK, config, training=True)
    assert doc.scored == [0, 1]
    assert {(c.index, c.reason) for c in doc.cuts} >= {
        (3, CUT_MAX_SENTENCES),
        (4, CUT_MAX_SENTENCES),
    }


@pytest.mark.parametrize("overlap", [0, 1, 3])
def test_windows_score_every_sentence_once_and_fit(overlap):
    lengths = [5, 12, 3, 20, 7, 7, 9, 30, 2, 11, 6]
    bounds = window_bounds(lengths, max_pos=40, overlap=overlap)
    scored = [i for start, end, k in bounds for i in range(start + k, end)]
    assert scored == list(range(len(lengths)))
    for start, end, k in bounds:
        cost = sum(n + 2 for n in lengths[start:end])
        assert cost <= 40 or end - start == 1
        assert k <= overlap
    assert bounds[0][:2] == (0, 3)


def test_long_documents_get_windows_with_true_sentence_positions():
    config = tiny_config(max_pos=40, window_overlap=1)
    (doc,) = featurize([Example("s", STORY, REFERENCE)], TOK, config, training=False)
    windows = document_windows(doc, 0, TOK, config)
    assert len(windows) > 1
    assert not [c for c in doc.cuts if c.reason == CUT_MAX_POS]
    assert windows[1].score_from == 1  # one sentence of left context
    batch = collate(windows, TOK.pad_token_id)
    assert batch.sentence_positions[1, 0].item() == windows[1].sentences[0] > 0


def test_features_are_cached_by_data_and_settings(tmp_path, monkeypatch):
    examples = [Example("s", STORY, REFERENCE)]
    first = cached_features(examples, TOK, tiny_config(), True, tmp_path)
    files = list(tmp_path.glob("ext-features-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())[0]["id"] == "s"

    def fail(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(ext_data, "featurize", fail)
    assert cached_features(examples, TOK, tiny_config(), True, tmp_path) == first
    with pytest.raises(AssertionError, match="recomputed"):  # other settings, other key
        cached_features(examples, TOK, tiny_config(oracle_sentences=1), True, tmp_path)
    changed = [Example("s", STORY, "Residents were pleased.")]
    with pytest.raises(AssertionError, match="recomputed"):  # other data, other key
        cached_features(changed, TOK, tiny_config(), True, tmp_path)
