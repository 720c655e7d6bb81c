"""BertSumExt on raw text: ``Summarizer.load(dir, device).summarize(texts)``.

Every sentence of every document gets a score (long documents are read in
overlapping windows unless the checkpoint says ``long_documents="truncate"``);
the summary is chosen by rank with PreSumm's trigram blocking and returned in
document order with character offsets into the original text.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from transformers import PreTrainedTokenizerBase

from ml.bertsumext import BertSumExt
from ml.checkpoint import load_pretrained
from ml.ext_data import CUT_SHORT, DocumentFeatures, collate, document_windows, features_from_texts
from ml.summary import ScoredSentence, Summary

_TOKEN = re.compile(r"\w+")
T = TypeVar("T")


def autocast_context(
    device: torch.device, precision: str
) -> contextlib.AbstractContextManager[None]:
    """Mixed precision: "fp32", "bf16", "fp16" (CUDA only) or "auto".

    "auto" is fp32 on CPU (bf16 is emulated without AVX512-BF16/AMX) and bf16 (or
    fp16 where bf16 is unsupported) on CUDA.
    """
    if precision == "auto":
        if device.type != "cuda":
            precision = "fp32"
        else:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError("fp16 autocast needs CUDA; use bf16 on CPU")
        return torch.autocast("cuda", dtype=torch.float16)
    raise ValueError(f"unknown precision {precision!r} (fp32, bf16, fp16 or auto)")


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


@dataclass
class Summarizer:
    """A trained BertSumExt ready to summarize raw text."""

    model: BertSumExt
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    batch_size: int = 8
    precision: str = "auto"
    long_documents: str | None = None  # override the checkpoint's "windows" / "truncate"
    name: str = "bertsumext"

    @classmethod
    def load(
        cls,
        directory: str | Path,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        precision: str = "auto",
        long_documents: str | None = None,
    ) -> Summarizer:
        """Load a checkpoint directory written by ``ml.train`` (safetensors, no pickle)."""
        if long_documents not in (None, "windows", "truncate"):
            raise ValueError("long_documents must be 'windows' or 'truncate'")
        model, tokenizer = load_pretrained(directory, device)
        return cls(model, tokenizer, torch.device(device), batch_size, precision, long_documents)

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
            summaries.append(
                Summary(
                    sentences=[
                        ScoredSentence(
                            index=i,
                            text=sents[i],
                            start=s,
                            end=e,
                            score=0.0 if probs[i] is None else float(probs[i] or 0.0),
                            selected=i in chosen,
                        )
                        for i, (s, e) in enumerate(doc.spans)
                    ],
                    system=self.name,
                    notes=notes,
                )
            )
        return summaries


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("summarize() takes a list of strings (one per document)")


def load_system(path: str | Path, device: str = "cpu") -> Any:
    """For ``python -m ml evaluate --system CHECKPOINT_DIR``: the architecture in config.json
    picks the class (a MatchSum directory gives ``ml.matchsum_inference.MatchSumSummarizer``,
    anything else ``Summarizer``, which reports what is wrong with the directory)."""
    from ml.checkpoint import read_architecture

    if read_architecture(path) == "MatchSum":
        from ml.matchsum_inference import MatchSumSummarizer

        return MatchSumSummarizer.load(path, device)
    return Summarizer.load(path, device)
