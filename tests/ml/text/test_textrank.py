"""TextRank's sparse graph against the dense reference it replaced, and its bound on work."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from ml.text.baselines import TextRank
from ml.text.rouge import tokenize
from ml.text.selection import top_k
from ml.text.sentences import split_sentences

# Stop words first: the graph is dense when they are in, sparse without them.
STOP_WORDS = ["the", "a", "of", "to", "and", "in"]
CONTENT_WORDS = [
    *("council", "river", "garden", "market", "school", "team", "season", "player", "city"),
    *("road", "bridge", "storm", "rain", "winter", "summer", "police", "court", "judge"),
    *("report", "budget", "tax", "plan", "vote", "mayor", "water", "power", "station"),
    *("train", "bus", "airport", "flight", "hospital", "doctor", "patient", "nurse"),
    *("museum", "art", "music", "film", "festival", "crowd", "farmer", "crop", "price"),
]
WORDS = STOP_WORDS + CONTENT_WORDS


def reference_textrank(sentences: list[str], damping=0.85, tol=1e-6, max_iter=200) -> np.ndarray:
    """The dense O(n²) implementation TextRank had before the sparse graph (verbatim logic)."""
    words = [set(tokenize(s)) for s in sentences]
    n = len(words)
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            denominator = math.log(len(words[i]) or 1) + math.log(len(words[j]) or 1)
            if denominator > 0:
                sim[i, j] = sim[j, i] = len(words[i] & words[j]) / denominator
    if n == 0:
        return np.zeros(0)
    out_weight = sim.sum(axis=1)
    dangling = out_weight == 0
    transition = np.divide(
        sim, out_weight[:, None], out=np.zeros_like(sim), where=~dangling[:, None]
    )
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        spread = rank[dangling].sum() / n
        new = (1 - damping) / n + damping * (rank @ transition + spread)
        converged = np.abs(new - rank).sum() < tol
        rank = new
        if converged:
            break
    return rank


def synthetic_document(n_sentences: int, seed: int, vocabulary=WORDS) -> str:
    rng = random.Random(seed)
    sentences = []
    for _ in range(n_sentences):
        length = rng.choice([1, 2, 3, 5, 8, 12, 20])  # 1-word sentences have log 0
        words = [rng.choice(vocabulary) for _ in range(length)]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


DOCUMENTS = {
    "garden": (
        "The garden club met on Tuesday evening. "
        "Members planted tomatoes, beans and squash in the community garden. "
        "The weather stayed dry. "
        "The club chose tomatoes and beans for the garden plots next spring. "
        "Tomatoes and beans grow well in the community garden soil. "
        "Refreshments were served afterwards."
    ),
    # Sentences sharing no word, repeated sentences and one-word sentences.
    "disjoint": "Alpha beta. Gamma delta. Epsilon zeta. Alpha beta. Yes. Yes. No. Eta theta iota.",
    **{f"synthetic-{n}": synthetic_document(n, seed=n) for n in (5, 12, 30, 55, 80)},
    # A small vocabulary without stop words: a sparse graph with dangling sentences.
    "sparse-80": synthetic_document(80, seed=7, vocabulary=CONTENT_WORDS),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_scores_and_selection_match_the_dense_reference(name):
    text = DOCUMENTS[name]
    sentences = [s.text for s in split_sentences(text)]
    assert 5 <= len(sentences) <= 80
    expected = reference_textrank(sentences)
    got = TextRank().scores(sentences)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert sum(got) == pytest.approx(1.0)
    # Exact ties (sentences 1 and 4 of "garden") go to the earlier sentence: the
    # reference broke them by rounding noise, so compare with its scores rounded.
    expected_ranking = list(np.round(expected, 12))
    for k in (1, 3, 5):
        (summary,) = TextRank().summarize([text], max_sentences=k)
        assert {s.index for s in summary.selected} == top_k(expected_ranking, k)


def test_similarity_matrix_keeps_only_existing_edges():
    sim = TextRank().similarity_matrix(["Alpha beta.", "Gamma delta.", "Alpha gamma.", "Yes."])
    dense = sim.toarray()
    assert np.allclose(dense, dense.T) and not dense.diagonal().any()
    assert sim.nnz == 4  # 0-2 and 1-2 share a word; 0-1 and anything with "Yes." do not
    assert dense[0, 2] == pytest.approx(1 / (2 * math.log(2)))


def test_graph_covers_the_first_max_graph_sentences():
    sentences = [s.text for s in split_sentences(DOCUMENTS["synthetic-80"])]
    scores = TextRank(max_graph_sentences=30).scores(sentences)
    np.testing.assert_allclose(scores[:30], reference_textrank(sentences[:30]), atol=1e-6)
    assert not scores[30:].any()


def test_twenty_thousand_sentences_get_a_ranking():
    text = synthetic_document(20_000, seed=1)
    (summary,) = TextRank().summarize([text], max_sentences=3)
    assert len(summary.sentences) >= 19_000  # the splitter may merge a few
    selected = [s.index for s in summary.selected]
    assert len(selected) == 3 and max(selected) < 2000
    assert sum(s.score for s in summary.sentences) == pytest.approx(1.0)
