"""Scoring a summarization system on examples with reference summaries."""

from __future__ import annotations

import sys
from typing import Any

from ml.text.data import Example, iter_batches
from ml.text.rouge import Scores, mean_scores, score_summary
from ml.text.summary import GeneratedSummary, Summary


def _summarize(
    system: Any, batch: list[Example], max_sentences: int
) -> list[Summary | GeneratedSummary]:
    texts = [example.text for example in batch]
    if hasattr(system, "summarize_with_reference"):  # the oracle reads the references
        references = [example.reference for example in batch]
        result = system.summarize_with_reference(texts, references, max_sentences)
    else:
        result = system.summarize(texts, max_sentences)
    summaries = list(result)
    if len(summaries) != len(batch):
        raise RuntimeError(f"the system returned {len(summaries)} summaries for {len(batch)} texts")
    return summaries


def evaluate(
    system: Any,
    examples: list[Example],
    max_sentences: int = 3,
    batch_size: int = 16,
    progress: bool = False,
) -> Scores:
    """Mean ROUGE F1 x 100 of ``system``'s summary sentences (the selected ones, or an
    abstractive system's generated ones) against the references.

    ``system`` has ``summarize(texts, max_sentences) -> list[Summary]`` (or, like the
    oracle, ``summarize_with_reference(texts, references, max_sentences)``). The
    selected sentences are joined with ``"\\n"`` for ROUGE-Lsum, as the references are.
    """
    return mean_scores(document_scores(system, examples, max_sentences, batch_size, progress))


def document_scores(
    system: Any,
    examples: list[Example],
    max_sentences: int = 3,
    batch_size: int = 16,
    progress: bool = False,
) -> list[dict[str, float]]:
    """Each example's ROUGE F1 x 100 (``score_summary``'s dict), in order: what a paired
    comparison of two systems on the same documents needs. See :func:`evaluate`."""
    if not examples:
        raise ValueError("no examples to evaluate")
    missing = [example.id for example in examples if not example.reference.strip()]
    if missing:
        raise ValueError(
            f"{len(missing)} example(s) have no reference summary (first: {missing[0]!r})"
        )
    if max_sentences <= 0:
        raise ValueError(f"max_sentences must be positive, got {max_sentences}")

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(examples), desc="evaluate", unit="doc", file=sys.stderr)
    per_document = []
    for batch in iter_batches(examples, batch_size):
        for example, summary in zip(batch, _summarize(system, batch, max_sentences), strict=True):
            per_document.append(score_summary(summary.summary_sentences, example.reference))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return per_document
