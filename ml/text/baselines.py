"""Baselines every trained model is reported beside: Lead-k, TextRank and the greedy oracle.

They return the same :class:`~ml.text.summary.Summary` as the neural models: every
sentence of the document in order, with a score, offsets and a ``selected`` flag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ml.text.rouge import greedy_oracle, tokenize
from ml.text.sentences import Span, split_sentences
from ml.text.summary import ScoredSentence, Summary


class SummarizationSystem(Protocol):
    """Anything that summarizes raw texts: the baselines here and the trained models."""

    name: str

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]: ...


def build_summary(
    spans: Sequence[Span], scores: Sequence[float], selected: set[int], system: str
) -> Summary:
    """A Summary of all ``spans`` in document order with their scores and selection."""
    sentences = [
        ScoredSentence(
            index=i,
            text=span.text,
            start=span.start,
            end=span.end,
            score=float(score),
            selected=i in selected,
        )
        for i, (span, score) in enumerate(zip(spans, scores, strict=True))
    ]
    notes = [] if spans else ["the text has no sentences"]
    return Summary(sentences=sentences, system=system, notes=notes)


def top_k(scores: Sequence[float], k: int) -> set[int]:
    """Indices of the ``k`` highest scores; ties go to the earlier sentence."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return set(order[: max(k, 0)])


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


class TextRank:
    """TextRank (Mihalcea & Tarau 2004): PageRank over a sentence similarity graph.

    Similarity is the paper's normalised word overlap on ROUGE's stemmed tokens,
    ``|S_i ∩ S_j| / (log |S_i| + log |S_j|)``; PageRank by power iteration.
    """

    name = "textrank"

    def __init__(self, damping: float = 0.85, tol: float = 1e-6, max_iter: int = 200) -> None:
        if not 0.0 < damping < 1.0:
            raise ValueError(f"damping must be in (0, 1), got {damping}")
        self.damping = damping
        self.tol = tol
        self.max_iter = max_iter

    def similarity_matrix(self, sentences: Sequence[str]) -> np.ndarray:
        """(n, n) symmetric word-overlap similarities, zero diagonal."""
        words = [set(tokenize(s)) for s in sentences]
        n = len(words)
        sim = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                denominator = math.log(len(words[i]) or 1) + math.log(len(words[j]) or 1)
                if denominator > 0:
                    sim[i, j] = sim[j, i] = len(words[i] & words[j]) / denominator
        return sim

    def pagerank(self, sim: np.ndarray) -> np.ndarray:
        """PageRank scores (sum 1) of the weighted graph ``sim``; uniform for no edges."""
        n = sim.shape[0]
        if n == 0:
            return np.zeros(0)
        out_weight = sim.sum(axis=1)  # (n,)
        dangling = out_weight == 0
        # transition[i, j]: probability of moving from i to j.
        transition = np.divide(
            sim, out_weight[:, None], out=np.zeros_like(sim), where=~dangling[:, None]
        )
        rank = np.full(n, 1.0 / n)
        for _ in range(self.max_iter):
            # A sentence without edges spreads its rank uniformly (standard PageRank).
            spread = rank[dangling].sum() / n
            new = (1 - self.damping) / n + self.damping * (rank @ transition + spread)
            converged = np.abs(new - rank).sum() < self.tol
            rank = new
            if converged:
                break
        return rank

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]:
        summaries = []
        for text in texts:
            spans = split_sentences(text)
            scores = self.pagerank(self.similarity_matrix([s.text for s in spans]))
            selected = top_k(list(scores), max_sentences)
            summaries.append(build_summary(spans, list(scores), selected, self.name))
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


def get_baseline(name: str) -> Lead | TextRank | Oracle:
    """A baseline by name: ``lead3`` (or ``leadK``), ``textrank`` or ``oracle``."""
    key = name.strip().lower()
    if key in BASELINES:
        return BASELINES[key]()
    if key.startswith("lead") and key[4:].isdigit() and int(key[4:]) > 0:
        return Lead(int(key[4:]))
    raise KeyError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)} or leadK")
