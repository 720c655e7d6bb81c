"""Choosing a summary's sentences by score: PreSumm's trigram blocking and size limits."""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = re.compile(r"\w+")


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = _TOKEN.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def select_sentences(
    sentences: Sequence[str],
    scores: Sequence[float | None],
    max_sentences: int | None = 3,
    ratio: float | None = None,
    word_budget: int | None = None,
    block_trigrams: bool = True,
) -> list[int]:
    """Indices chosen by score rank (PreSumm's trigram blocking optional), in document order.

    Exactly one of ``max_sentences``, ``ratio`` (share of the document's sentences,
    at least one) or ``word_budget`` (total words; sentences that would exceed it are
    skipped) limits the size. Unscored sentences are never chosen.
    """
    limits = [x is not None for x in (ratio, word_budget)]
    if sum(limits) > 1:
        raise ValueError("give at most one of ratio and word_budget")
    if ratio is not None and not 0 < ratio <= 1:
        raise ValueError("ratio must be in (0, 1]")
    if word_budget is not None and word_budget < 1:
        raise ValueError("word_budget must be a positive number of words")
    if ratio is None and word_budget is None and (max_sentences is None or max_sentences < 1):
        raise ValueError("max_sentences must be >= 1")
    ranked = sorted(
        (i for i, s in enumerate(scores) if s is not None), key=lambda i: (-(scores[i] or 0.0), i)
    )
    k = len(ranked)
    if ratio is not None:
        k = max(1, round(ratio * len(sentences)))
    elif word_budget is None and max_sentences is not None:
        k = max_sentences
    chosen: list[int] = []
    seen: set[tuple[str, ...]] = set()
    words = 0
    for i in ranked:
        if len(chosen) >= k:
            break
        tri = trigrams(sentences[i])
        if block_trigrams and tri & seen:
            continue
        if word_budget is not None:
            n = len(sentences[i].split())
            if words + n > word_budget:
                continue
            words += n
        chosen.append(i)
        seen |= tri
    return sorted(chosen)


def top_k(scores: Sequence[float], k: int) -> set[int]:
    """Indices of the ``k`` highest scores; ties go to the earlier sentence."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return set(order[: max(k, 0)])
