"""Baselines every trained model is reported beside: Lead-k, TextRank and the greedy oracle.

They return the same :class:`~ml.text.summary.Summary` as the neural models: every
sentence of the document in order, with a score, offsets and a ``selected`` flag.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ml.text.rouge import greedy_oracle, tokenize
from ml.text.selection import top_k
from ml.text.sentences import split_sentences
from ml.text.summary import Summary, build_summary

if TYPE_CHECKING:
    # Imported where TextRank runs: the text layer imports without scipy (tested).
    from scipy import sparse

    from ml.text.zero_label import ZeroLabel


class SummarizationSystem(Protocol):
    """Anything that summarizes raw texts: the baselines here and the trained models."""

    name: str

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]: ...


class Lead:
    """The first ``k`` sentences (Lead-3 for the default k=3)."""

    def __init__(self, k: int = 3) -> None:
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        self.k = k
        self.name = f"lead{k}"

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]:
        summaries = []
        for text in texts:
            spans = split_sentences(text)
            # Score by position so that ranking by score reproduces the lead.
            scores = [1.0 / (i + 1) for i in range(len(spans))]
            count = min(self.k, max_sentences)
            summaries.append(build_summary(spans, scores, set(range(count)), self.name))
        return summaries


# Rows of the similarity matrix computed at a time (bounds the transient memory).
_BLOCK_ROWS = 256


def _sentence_terms(sentences: Sequence[str]) -> tuple[sparse.csr_array, np.ndarray]:
    """The binary (sentence, term) matrix of ROUGE's tokens, and each sentence's term count."""
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    indptr, indices = [0], []
    for sentence in sentences:
        terms = {vocabulary.setdefault(t, len(vocabulary)) for t in tokenize(sentence)}
        indices.extend(sorted(terms))
        indptr.append(len(indices))
    shape = (len(sentences), max(len(vocabulary), 1))
    # int32 counts: the overlaps are exact integers, at half the memory of float64.
    data = np.ones(len(indices), dtype=np.int32)
    incidence = sparse.csr_array((data, np.asarray(indices, dtype=np.int32), indptr), shape=shape)
    return incidence, np.diff(np.asarray(indptr))


def _upper_similarities(sentences: Sequence[str]) -> sparse.csr_array:
    """The strict upper triangle (i < j) of the similarity matrix, only existing edges.

    Overlaps of every pair are one sparse product, computed a block of rows at a
    time, so beyond the graph (12 bytes an edge, each pair once) memory stays at
    one block's overlaps.
    """
    from scipy import sparse

    incidence, lengths = _sentence_terms(sentences)
    n = len(sentences)
    log_len = np.log(np.maximum(lengths, 1))
    counts, columns, values = [np.zeros(1, dtype=np.int64)], [], []
    for start in range(0, n, _BLOCK_ROWS):
        block = sparse.csr_array(incidence[start : start + _BLOCK_ROWS] @ incidence.T)
        rows = start + np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        cols = block.indices
        denominator = log_len[rows] + log_len[cols]
        keep = (cols > rows) & (denominator > 0)
        counts.append(np.bincount(rows[keep] - start, minlength=block.shape[0]))
        columns.append(cols[keep])
        values.append(block.data[keep] / denominator[keep])
        del block, rows, cols, denominator, keep
    indptr = np.cumsum(np.concatenate(counts))
    data = np.concatenate(values) if values else np.zeros(0)
    indices = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
    return sparse.csr_array((data, indices, indptr), shape=(n, n))


class TextRank:
    """TextRank (Mihalcea & Tarau 2004): PageRank over a sentence similarity graph.

    Similarity is the paper's normalised word overlap on ROUGE's stemmed tokens,
    ``|S_i ∩ S_j| / (log |S_i| + log |S_j|)``; PageRank (damping 0.85) by power
    iteration. Both are computed on sparse matrices: a binary sentence-term matrix
    ``A`` gives every overlap at once as ``A @ A.T``, only the pairs that share a
    word become edges, and each PageRank step is one sparse product.

    Work is bounded by ``max_graph_sentences``. The overlap counts every token,
    stop words included, so on real text most pairs of sentences share "the" or
    "a" and the graph is dense (71-76 % of all pairs on CNN/DM test articles):
    ~n²/3 edges however it is stored, 1.4·10⁸ for 20,000 sentences (GBs). So the
    graph spans the first ``max_graph_sentences`` sentences (default 2,000, the
    service's MAX_DOCUMENT_SENTENCES); later sentences are not tokenized, score 0 and are
    never selected (scores stay a distribution over the graph's sentences). A
    document within the limit gets exactly the full-graph scores. Leading
    sentences rather than k nearest neighbours: a k-NN graph changes the ranking
    of every document longer than k + 1 sentences and still costs n² similarity
    evaluations, while news puts its summary first (Lead-3 beats TextRank on
    CNN/DM), so the head of a long document is the part worth ranking.
    """

    name = "textrank"

    def __init__(
        self,
        damping: float = 0.85,
        tol: float = 1e-6,
        max_iter: int = 200,
        max_graph_sentences: int = 2000,
    ) -> None:
        if not 0.0 < damping < 1.0:
            raise ValueError(f"damping must be in (0, 1), got {damping}")
        if max_graph_sentences <= 0:
            raise ValueError(f"max_graph_sentences must be positive, got {max_graph_sentences}")
        self.damping = damping
        self.tol = tol
        self.max_iter = max_iter
        self.max_graph_sentences = max_graph_sentences

    def similarity_matrix(self, sentences: Sequence[str]) -> sparse.csr_array:
        """(n, n) sparse symmetric word-overlap similarities: no diagonal, no zero edges."""
        from scipy import sparse

        upper = _upper_similarities(sentences)
        return sparse.csr_array(upper + upper.T)

    def pagerank(self, sim: sparse.sparray | np.ndarray) -> np.ndarray:
        """PageRank scores (sum 1) of the weighted graph ``sim``; uniform for no edges."""
        from scipy import sparse

        graph = sparse.csr_array(sim)
        # rank @ transition (transition[i, j] = sim[i, j] / out_weight[i], the
        # probability of moving from i to j) is sim.T @ (rank / out_weight).
        graph_t = graph.T  # a view, no copy
        return self._power_iteration(lambda x: graph_t @ x, np.asarray(graph.sum(axis=1)))

    def _symmetric_pagerank(self, upper: sparse.csr_array) -> np.ndarray:
        """:meth:`pagerank` of ``upper + upper.T``, from the strict upper triangle alone."""
        out_weight = np.asarray(upper.sum(axis=1)) + np.asarray(upper.sum(axis=0))
        upper_t = upper.T
        return self._power_iteration(lambda x: upper @ x + upper_t @ x, out_weight)

    def _power_iteration(
        self, incoming: Callable[[np.ndarray], np.ndarray], out_weight: np.ndarray
    ) -> np.ndarray:
        """PageRank by power iteration; ``incoming(x)`` is ``sim.T @ x``."""
        n = len(out_weight)
        if n == 0:
            return np.zeros(0)
        dangling = out_weight == 0
        scale = np.divide(1.0, out_weight, out=np.zeros(n), where=~dangling)
        rank = np.full(n, 1.0 / n)
        for _ in range(self.max_iter):
            # A sentence without edges spreads its rank uniformly (standard PageRank).
            spread = rank[dangling].sum() / n
            new = (1 - self.damping) / n + self.damping * (incoming(rank * scale) + spread)
            converged = np.abs(new - rank).sum() < self.tol
            rank = new
            if converged:
                break
        return rank

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        """One score per sentence: PageRank over the first ``max_graph_sentences``, then 0.

        Rounded to 12 decimals (PageRank stops at ``tol`` = 1e-6 anyway), so sentences
        that tie exactly in theory tie in floating point too, whatever the summation
        order, and the earlier one is selected.
        """
        head = sentences[: self.max_graph_sentences]
        scores = np.zeros(len(sentences))
        scores[: len(head)] = np.round(self._symmetric_pagerank(_upper_similarities(head)), 12)
        return scores

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]:
        summaries = []
        for text in texts:
            spans = split_sentences(text)
            scores = list(self.scores([s.text for s in spans]))
            selected = top_k(scores, max_sentences)
            summaries.append(build_summary(spans, scores, selected, self.name))
        return summaries


class Oracle:
    """The greedy ROUGE oracle (an upper bound; it reads the reference summary)."""

    name = "oracle"

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]:
        raise TypeError("the oracle needs reference summaries: call summarize_with_reference()")

    def summarize_with_reference(
        self, texts: list[str], references: list[str], max_sentences: int = 3
    ) -> list[Summary]:
        if len(texts) != len(references):
            raise ValueError(f"{len(texts)} texts but {len(references)} references")
        summaries = []
        for text, reference in zip(texts, references, strict=True):
            spans = split_sentences(text)
            chosen = greedy_oracle([s.text for s in spans], reference, max_sentences)
            # The oracle does not rank sentences: selected ones score 1, the rest 0.
            scores = [1.0 if i in chosen else 0.0 for i in range(len(spans))]
            summaries.append(build_summary(spans, scores, set(chosen), self.name))
        return summaries


BASELINES = {"lead3": Lead, "textrank": TextRank, "oracle": Oracle}


def get_baseline(name: str) -> Lead | TextRank | Oracle | ZeroLabel:
    """A baseline by name: ``lead3`` (or ``leadK``), ``textrank``, ``oracle`` or
    ``default`` (the zero-label default, :mod:`ml.text.zero_label`)."""
    key = name.strip().lower()
    if key == "default":
        from ml.text.zero_label import ZeroLabel

        return ZeroLabel()
    if key in BASELINES:
        return BASELINES[key]()
    if key.startswith("lead") and key[4:].isdigit() and int(key[4:]) > 0:
        return Lead(int(key[4:]))
    raise KeyError(
        f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}, default or leadK"
    )
