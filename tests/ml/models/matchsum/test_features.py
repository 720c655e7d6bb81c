from itertools import combinations

import pytest

import ml.models.matchsum.features as matchsum_data
from ml.models.bertsumext.summarizer import Summarizer
from ml.models.matchsum.features import (
    build_documents,
    cached_documents,
    candidate_indices,
    encode_documents,
    extractor_fingerprint,
)
from ml.text.data import Example
from ml.text.rouge import candidate_rouge
from tests.ml.fixtures.bertsumext import toy_examples
from tests.ml.fixtures.matchsum import save_tiny_extractor, tiny_match_config


def test_top5_gives_the_20_candidates_of_the_paper_in_document_order():
    scores = [0.1, 0.9, 0.3, 0.8, 0.05, 0.7, 0.6, 0.2]  # top 5: sentences 1, 3, 5, 6, 2
    cands = candidate_indices(scores, k=5, sizes=(2, 3))
    top = [1, 2, 3, 5, 6]
    assert len(cands) == 20
    assert cands == list(combinations(top, 2)) + list(combinations(top, 3))
    assert all(list(c) == sorted(c) for c in cands)
    assert {i for c in cands for i in c} == set(top)


def test_k_and_sizes_are_configurable():
    scores = [0.5, 0.4, 0.3, 0.2, 0.1, 0.6, 0.7]
    assert len(candidate_indices(scores, k=6, sizes=(2, 3))) == 15 + 20
    assert candidate_indices(scores, k=3, sizes=(1,)) == [(0,), (5,), (6,)]
    assert len(candidate_indices(scores, k=4, sizes=(2, 3, 4))) == 6 + 4 + 1
    with pytest.raises(ValueError):
        candidate_indices(scores, k=0)


def test_short_documents_use_all_sentences_and_smaller_sizes():
    assert candidate_indices([0.3, 0.4, 0.5], k=5, sizes=(2, 3)) == [
        (0, 1),
        (0, 2),
        (1, 2),
        (0, 1, 2),
    ]
    assert candidate_indices([0.2, 0.9], k=5, sizes=(2, 3)) == [(0, 1)]
    assert candidate_indices([0.2], k=5, sizes=(2, 3)) == [(0,)]
    assert candidate_indices([], k=5, sizes=(2, 3)) == []


def test_unscored_sentences_are_never_candidates_and_max_sentences_caps_sizes():
    scores = [None, 0.9, None, 0.8, 0.7]
    assert candidate_indices(scores, k=5, sizes=(2, 3)) == [(1, 3), (1, 4), (3, 4), (1, 3, 4)]
    assert candidate_indices(scores, k=5, sizes=(2, 3), max_sentences=1) == [(1,), (3,), (4,)]
    assert candidate_indices([0.1] * 6, k=5, sizes=(2, 3), max_sentences=2) == list(
        combinations(range(5), 2)
    )  # ties: the earlier sentences win


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    directory = save_tiny_extractor(tmp_path_factory.mktemp("ext") / "model")
    return directory, Summarizer.load(directory)


def test_candidates_are_ranked_by_rouge_against_the_reference(extractor):
    _, summarizer = extractor
    examples = toy_examples(3, sentences=7, seed=4)
    docs = build_documents(examples, summarizer, tiny_match_config())
    for doc, ex in zip(docs, examples, strict=True):
        sents = [ex.text[s:e] for s, e in doc.spans]
        assert len(doc.candidates) == 20 and doc.rouge is not None
        expected = [candidate_rouge([sents[i] for i in c], ex.reference) for c in doc.candidates]
        assert doc.rouge == expected == sorted(expected, reverse=True)
        assert doc.labels is not None and sum(doc.labels) >= 1  # greedy-oracle labels
        assert doc.target == ex.reference
    unranked = build_documents(examples, summarizer, tiny_match_config(), rank=False)
    assert unranked[0].rouge is None
    assert sorted(map(tuple, unranked[0].candidates)) == sorted(map(tuple, docs[0].candidates))


def test_staff_labels_stand_in_for_a_missing_reference(extractor):
    _, summarizer = extractor
    (ex,) = toy_examples(1, sentences=6, seed=5)
    labelled = Example("x", ex.text, "", labels={0: 1, 4: 1})
    bare = Example("y", ex.text, "")
    doc, none = build_documents([labelled, bare], summarizer, tiny_match_config())
    sents = [ex.text[s:e] for s, e in doc.spans]
    assert doc.target == f"{sents[0]}\n{sents[4]}" and doc.rouge is not None
    assert doc.labels is not None and doc.labels[0] == doc.labels[4] == 1
    assert none.target == "" and none.rouge is None and none.labels is None


def test_cache_is_reused_and_keyed_by_extractor_and_settings(extractor, tmp_path, monkeypatch):
    directory, summarizer = extractor
    examples = toy_examples(2, seed=6)
    sha = extractor_fingerprint(directory)
    config = tiny_match_config()
    first = cached_documents(examples, summarizer, sha, config, tmp_path)
    assert len(list(tmp_path.glob("matchsum-candidates-*.json"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(matchsum_data, "build_documents", fail)
    assert cached_documents(examples, summarizer, sha, config, tmp_path) == first
    monkeypatch.undo()
    cached_documents(examples, summarizer, "another-extractor", config, tmp_path)
    cached_documents(examples, summarizer, sha, tiny_match_config(candidate_k=4), tmp_path)
    assert len(list(tmp_path.glob("matchsum-candidates-*.json"))) == 3


def test_token_ids_keep_candidate_order_and_respect_the_limits(extractor):
    from ml.encoders import load_tokenizer

    _, summarizer = extractor
    examples = toy_examples(2, sentences=30, seed=7)  # ~300 tokens > max_doc_tokens 128
    config = tiny_match_config(max_candidate_tokens=16)
    docs = build_documents(examples, summarizer, config)
    tok = load_tokenizer("default")
    feats = encode_documents(docs, [e.text for e in examples], tok, config, with_gold=True)
    for f, d in zip(feats, docs, strict=True):
        assert len(f.doc_ids) == 128 and f.doc_ids[0] == tok.cls_token_id
        assert f.doc_ids[-1] == tok.sep_token_id
        assert len(f.candidate_ids) == len(d.candidates)
        assert all(len(c) <= 16 for c in f.candidate_ids)
        assert f.gold_ids is not None and f.gold_ids[0] == tok.cls_token_id
