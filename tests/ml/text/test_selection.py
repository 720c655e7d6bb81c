"""Sentence selection: trigram blocking, document order, size limits."""

import pytest

from ml.text.selection import select_sentences


def test_trigram_blocking_skips_repeated_content():
    sents = [
        "the mayor opened the new bridge on monday",
        "the mayor opened the new bridge again today",
        "a storm closed the harbor",
        "schools stay closed this week",
    ]
    scores = [0.9, 0.8, 0.7, 0.1]
    assert select_sentences(sents, scores, 2) == [0, 2]
    assert select_sentences(sents, scores, 2, block_trigrams=False) == [0, 1]


def test_selection_is_in_document_order_and_honours_the_limits():
    sents = ["one two three four", "five six seven", "eight nine", "ten eleven twelve thirteen"]
    scores = [0.1, 0.9, None, 0.5]
    assert select_sentences(sents, scores, 2) == [1, 3]  # ranked 1, 3; returned in order
    assert select_sentences(sents, scores, 5) == [0, 1, 3]  # unscored sentences never chosen
    assert select_sentences(sents, scores, ratio=0.5) == [1, 3]
    assert select_sentences(sents, scores, word_budget=5) == [1]  # 3 words; the next is 4
    assert select_sentences(sents, scores, word_budget=7) == [1, 3]
    with pytest.raises(ValueError, match="at most one"):
        select_sentences(sents, scores, ratio=0.5, word_budget=3)
    with pytest.raises(ValueError, match="ratio"):
        select_sentences(sents, scores, ratio=1.5)
    with pytest.raises(ValueError, match="max_sentences"):
        select_sentences(sents, scores, 0)
