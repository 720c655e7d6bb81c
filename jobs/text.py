"""The ml text helpers the app uses: sentence splitting, language, ROUGE."""

from __future__ import annotations

from ml.text.sentences import detect_language, split_sentences

__all__ = ["detect_language", "rouge_of", "split_sentences"]


def rouge_of(selected: list[str], reference: str) -> dict[str, float]:
    """ROUGE F1 x 100 of the selected sentences against a reference summary."""
    from ml.text.rouge import score_summary

    return score_summary(selected, reference)
