import numpy as np
import pytest

from ml.text.baselines import Lead, Oracle, TextRank, get_baseline
from ml.text.selection import top_k
from ml.text.sentences import split_sentences
from ml.text.summary import Summary

# Original text: a small garden club newsletter.
GARDEN = (
    "The garden club met on Tuesday evening. "
    "Members planted tomatoes, beans and squash in the community garden. "
    "The weather stayed dry. "
    "The club chose tomatoes and beans for the garden plots next spring. "
    "Tomatoes and beans grow well in the community garden soil. "
    "Refreshments were served afterwards."
)


def assert_consistent(summary: Summary, text: str):
    spans = split_sentences(text)
    assert [s.index for s in summary.sentences] == list(range(len(spans)))
    for sentence, span in zip(summary.sentences, spans, strict=True):
        assert (sentence.start, sentence.end, sentence.text) == (span.start, span.end, span.text)
        assert text[sentence.start : sentence.end] == sentence.text


def test_lead_selects_the_first_sentences_in_order():
    (summary,) = Lead().summarize([GARDEN])
    assert summary.system == "lead3"
    assert_consistent(summary, GARDEN)
    assert [s.index for s in summary.selected] == [0, 1, 2]
    assert len(summary.sentences) == 6
    scores = [s.score for s in summary.sentences]
    assert scores == sorted(scores, reverse=True)


def test_lead_respects_max_sentences_and_short_texts():
    first, second, empty = Lead().summarize([GARDEN, "Only one sentence here.", "   "], 2)
    assert [s.index for s in first.selected] == [0, 1]
    assert [s.text for s in second.selected] == ["Only one sentence here."]
    assert empty.sentences == [] and empty.notes
    assert Lead(k=1).summarize([GARDEN])[0].text == "The garden club met on Tuesday evening."


def test_textrank_prefers_central_sentences_and_keeps_document_order():
    (summary,) = TextRank().summarize([GARDEN], max_sentences=2)
    assert summary.system == "textrank"
    assert_consistent(summary, GARDEN)
    # The three sentences about tomatoes, beans and the garden share the most words.
    selected = [s.index for s in summary.selected]
    assert selected == sorted(selected)
    assert set(selected) <= {1, 3, 4}
    assert len(selected) == 2
    scores = {s.index: s.score for s in summary.sentences}
    assert scores[2] < min(scores[i] for i in selected)  # "The weather stayed dry."
    assert sum(scores.values()) == pytest.approx(1.0)


def test_pagerank_on_a_star_graph_ranks_the_hub_first():
    sim = np.zeros((4, 4))
    sim[0, 1:] = sim[1:, 0] = 1.0
    rank = TextRank(damping=0.85).pagerank(sim)
    assert rank.sum() == pytest.approx(1.0)
    assert rank[0] > rank[1] == pytest.approx(rank[2]) == pytest.approx(rank[3])
    # Closed form for a star with n leaves: hub = (1 - d)/N + d * sum(leaf rank).
    d, n = 0.85, 4
    assert rank[0] == pytest.approx((1 - d) / n + d * rank[1:].sum(), abs=1e-6)


def test_pagerank_without_edges_is_uniform_and_textrank_falls_back_to_lead():
    assert TextRank().pagerank(np.zeros((3, 3))) == pytest.approx([1 / 3] * 3)
    text = "Alpha beta. Gamma delta. Epsilon zeta. Eta theta."
    (summary,) = TextRank().summarize([text], max_sentences=2)
    assert [s.index for s in summary.selected] == [0, 1]


def test_textrank_empty_text():
    (summary,) = TextRank().summarize([""])
    assert summary.sentences == []


def test_top_k_breaks_ties_by_position():
    assert top_k([0.5, 0.9, 0.5, 0.9], 3) == {1, 3, 0}


def test_oracle_needs_references():
    reference = "The club chose tomatoes and beans for next spring."
    (summary,) = Oracle().summarize_with_reference([GARDEN], [reference])
    assert_consistent(summary, GARDEN)
    assert [s.index for s in summary.selected] == [3]
    with pytest.raises(TypeError, match="reference"):
        Oracle().summarize([GARDEN])
    with pytest.raises(ValueError):
        Oracle().summarize_with_reference([GARDEN], [])


def test_get_baseline():
    assert isinstance(get_baseline("lead3"), Lead)
    assert get_baseline("lead5").k == 5
    assert isinstance(get_baseline("TextRank"), TextRank)
    assert isinstance(get_baseline("oracle"), Oracle)
    with pytest.raises(KeyError, match="unknown baseline"):
        get_baseline("bertsum")
