"""BertSumExt on raw text: ``Summarizer.load(dir, device).summarize(texts)``.

Every sentence of every document gets a score (long documents are read in
overlapping windows unless the checkpoint says ``long_documents="truncate"``);
the summary is chosen by rank with PreSumm's trigram blocking and returned in
document order with character offsets into the original text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import torch
from transformers import PreTrainedTokenizerBase

from ml.models.bertsumext.checkpoint import load_pretrained
from ml.models.bertsumext.features import (
    CUT_SHORT,
    DocumentFeatures,
    collate,
    document_windows,
    features_from_texts,
)
from ml.models.bertsumext.model import BertSumExt
from ml.precision import autocast_context, prepare_for_inference
from ml.text.selection import select_sentences
from ml.text.summary import Summary, summary_of

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@torch.no_grad()
def score_features(
    model: BertSumExt,
    tokenizer: PreTrainedTokenizerBase,
    docs: Sequence[DocumentFeatures],
    device: torch.device | str = "cpu",
    batch_size: int = 8,
    precision: str = "fp32",
    mode: str | None = None,
) -> list[list[float | None]]:
    """Probability per sentence of each document (None for sentences the model did not see)."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    windows = [
        w
        for i, d in enumerate(docs)
        if d.scored  # an empty text has nothing to score
        for w in document_windows(d, i, tokenizer, model.config, mode)
    ]
    # Sort by length so each batch pads little; scores are put back by (doc, sentence).
    windows.sort(key=lambda w: len(w.input_ids))
    probs: list[list[float | None]] = [[None] * len(d.spans) for d in docs]
    pad_id = int(tokenizer.pad_token_id or 0)
    for chunk in _chunks(windows, batch_size):
        batch = collate(chunk, pad_id).to(device)
        with autocast_context(device, precision):
            logits = model(batch)  # (B, S)
        p = torch.sigmoid(logits.float()).cpu()
        for r, w in enumerate(chunk):
            doc = docs[w.doc]
            for k in range(w.score_from, len(w.cls_positions)):
                probs[w.doc][doc.scored[w.sentences[k]]] = float(p[r, k])
    model.train(was_training)
    return probs


@dataclass
class Summarizer:
    """A trained BertSumExt ready to summarize raw text."""

    name: ClassVar[str] = "bertsumext"

    model: BertSumExt
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    batch_size: int = 8
    precision: str = "auto"
    long_documents: str | None = None  # override the checkpoint's "windows" / "truncate"

    @classmethod
    def load(
        cls,
        directory: str | Path,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        precision: str = "auto",
        long_documents: str | None = None,
    ) -> Summarizer:
        """Load a checkpoint directory (``ml.models.bertsumext.train``; safetensors, no pickle).

        ``precision``: "fp32", "bf16", "int8" or "auto" (:func:`ml.precision.inference_precision`).
        """
        if long_documents not in (None, "windows", "truncate"):
            raise ValueError("long_documents must be 'windows' or 'truncate'")
        model, tokenizer = load_pretrained(directory, device)
        model.eval()
        autocast = prepare_for_inference(model, device, precision)
        return cls(model, tokenizer, torch.device(device), batch_size, autocast, long_documents)

    def score(self, texts: Sequence[str]) -> list[tuple[DocumentFeatures, list[float | None]]]:
        _check_texts(texts)
        docs = features_from_texts(texts, self.tokenizer, self.model.config)
        probs = score_features(
            self.model,
            self.tokenizer,
            docs,
            self.device,
            self.batch_size,
            self.precision,
            self.long_documents,
        )
        return list(zip(docs, probs, strict=True))

    def summarize(
        self,
        texts: Sequence[str],
        max_sentences: int = 3,
        ratio: float | None = None,
        word_budget: int | None = None,
        block_trigrams: bool = True,
    ) -> list[Summary]:
        """One Summary per text: every sentence with its score, the chosen ones marked."""
        summaries = []
        for text, (doc, probs) in zip(texts, self.score(texts), strict=True):
            sents = [text[s:e] for s, e in doc.spans]
            chosen = set(
                select_sentences(sents, probs, max_sentences, ratio, word_budget, block_trigrams)
            )
            notes = []
            short = [c.index for c in doc.cuts if c.reason == CUT_SHORT]
            if short:
                notes.append(
                    f"{len(short)} sentence(s) of at most {self.model.config.min_sentence_tokens} "
                    "words were not scored (score 0)"
                )
            other = [c for c in doc.cuts if c.reason != CUT_SHORT]
            if other:
                notes.append(f"{len(other)} sentence(s) beyond max_pos were not scored (score 0)")
            if not sents:
                notes.append("the text has no sentences")
            summaries.append(summary_of(text, doc.spans, probs, chosen, self.name, notes))
        return summaries


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("summarize() takes a list of strings (one per document)")
