import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer, tokenizers

from ml.text.rouge import (
    Scores,
    candidate_rouge,
    greedy_oracle,
    mean_scores,
    oracle_rouge,
    score_summary,
    tokenize,
)

HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
PACKAGE = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)

# A small vocabulary (with inflections the stemmer folds) so that random texts overlap.
WORDS = ["the", "cat", "cats", "sat", "sitting", "on", "mat", "dog", "runs", "running", "red"]
sentence = st.lists(st.sampled_from([*WORDS, "42", ",", "-", "Mat!"]), max_size=10).map(" ".join)


def package_r1_r2(sentences, reference, selection):
    result = PACKAGE.score(reference, "\n".join(sentences[i] for i in sorted(selection)))
    return result["rouge1"].fmeasure, result["rouge2"].fmeasure


def naive_greedy(sentences, reference, max_sentences):
    """The oracle written the slow obvious way, on rouge-score itself."""
    selected, best = [], 0.0
    for _ in range(max_sentences):
        choice, choice_score = None, best
        for i in range(len(sentences)):
            if i in selected:
                continue
            r1, r2 = package_r1_r2(sentences, reference, [*selected, i])
            if r1 + r2 > choice_score:
                choice, choice_score = i, r1 + r2
        if choice is None:
            break
        selected.append(choice)
        best = choice_score
    return sorted(selected)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]).filter(lambda c: not HANGUL.match(c)))
)
def test_tokenizer_equals_rouge_score_without_hangul(text):
    assert tokenize(text) == tokenizers.DefaultTokenizer(use_stemmer=True).tokenize(text)


def test_tokenizer_keeps_hangul():
    assert tokenize("GPT는 빠르다. Running!") == ["gpt", "는", "빠르다", "run"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(sentence, min_size=1, max_size=8),
    st.lists(sentence, min_size=1, max_size=3).map("\n".join),
    st.data(),
)
def test_oracle_arithmetic_equals_rouge_score(sentences, reference, data):
    selection = data.draw(st.sets(st.integers(0, len(sentences) - 1), max_size=4))
    r1, r2 = package_r1_r2(sentences, reference, selection)
    assert oracle_rouge(sentences, reference, selection) == r1 + r2  # exact, not approx


@settings(max_examples=150, deadline=None)
@given(
    st.lists(sentence, min_size=1, max_size=8),
    st.lists(sentence, min_size=1, max_size=3).map("\n".join),
    st.integers(1, 4),
)
def test_greedy_oracle_equals_naive_greedy_on_rouge_score(sentences, reference, k):
    assert greedy_oracle(sentences, reference, k) == naive_greedy(sentences, reference, k)


def test_greedy_oracle_hand_example():
    sentences = [
        "Markets were calm on Monday.",
        "The council approved the new bridge over the river.",
        "Construction of the bridge starts in May.",
        "Local bakeries sold out of bread.",
    ]
    reference = "Council approves new river bridge\nBuilding starts in May"
    assert greedy_oracle(sentences, reference) == [1, 2]
    # Alone, sentence 2 wins: fewer unigrams match but its bigrams do ("starts in May").
    assert greedy_oracle(sentences, reference, max_sentences=1) == [2]


def test_greedy_oracle_stops_when_nothing_improves():
    sentences = ["the cat sat on the mat", "completely unrelated words here", "the cat"]
    # Adding anything to sentence 0 only lowers precision more than it adds recall.
    assert greedy_oracle(sentences, "the cat sat on the mat") == [0]


def test_greedy_oracle_degenerate_inputs():
    assert greedy_oracle([], "a reference") == []
    assert greedy_oracle(["Some text."], "") == []
    assert greedy_oracle(["...", "!!!"], "words") == []
    assert greedy_oracle(["zebra crossing"], "unrelated reference") == []
    assert greedy_oracle(["the cat"], "the cat", max_sentences=0) == []


def test_score_summary_is_rouge_score_times_100():
    summary = ["The cats sat on mats.", "A dog ran."]
    reference = "Cats sat on the mat.\nThe dog runs."
    expected = PACKAGE.score(reference, "\n".join(summary))
    scores = score_summary(summary, reference)
    assert scores == {key: expected[key].fmeasure * 100 for key in expected}
    assert 0 < scores["rouge2"] < scores["rouge1"] <= 100


def test_korean_scores_are_not_zero():
    assert score_summary(["오늘 날씨가 좋다."], "오늘 날씨가 좋다")["rouge1"] == 100.0


def test_candidate_rouge_is_the_mean():
    candidate = ["The cat sat.", "The dog ran."]
    reference = "A cat sat.\nDogs run."
    scores = score_summary(candidate, reference)
    assert candidate_rouge(candidate, reference) == pytest.approx(sum(scores.values()) / 3)
    assert candidate_rouge(["A cat sat.", "Dogs run."], reference) == pytest.approx(100.0)


def test_mean_scores():
    scores = mean_scores(
        [
            {"rouge1": 10.0, "rouge2": 0.0, "rougeLsum": 5.0},
            {"rouge1": 30.0, "rouge2": 10.0, "rougeLsum": 15.0},
        ]
    )
    assert scores == Scores(n=2, rouge1=20.0, rouge2=5.0, rougeLsum=10.0)
    assert scores.as_dict() == {"n": 2, "rouge1": 20.0, "rouge2": 5.0, "rougeLsum": 10.0}
    with pytest.raises(ValueError):
        mean_scores([])
