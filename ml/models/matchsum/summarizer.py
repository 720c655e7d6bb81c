"""MatchSum on raw text: ``Summarizer.load(dir, device).summarize(texts)``.

No reference summary is needed (the reference code asks for one at test time).
Per document: the bundled BertSumExt extractor scores every sentence, the top-k are
combined into candidates (sizes capped at ``max_sentences``), the document is encoded
once and the candidates in length-sorted batches, and the candidate with the highest
cosine similarity to the document is the summary.

Sentence scores in the returned :class:`ml.text.summary.Summary` are the extractor's
probabilities (0 for sentences it did not score), so every sentence has a
comparable score; the selected sentences are the chosen candidate's, which need not
be the highest-scored ones. The chosen candidate's matching score is in the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from transformers import PreTrainedTokenizerBase

from ml.models.bertsumext.summarizer import Summarizer as BertSumExtSummarizer
from ml.models.matchsum.checkpoint import EXTRACTOR_DIR, load_matchsum
from ml.models.matchsum.features import (
    MatchDocument,
    build_documents,
    candidate_text,
    pad,
    tokenize,
)
from ml.models.matchsum.model import MatchSum
from ml.precision import autocast_context, prepare_for_inference
from ml.text.summary import Summary, summary_of


@torch.no_grad()
def embed_texts(
    model: MatchSum,
    rows: Sequence[Sequence[int]],
    pad_id: int,
    device: torch.device,
    batch_size: int,
    precision: str,
) -> torch.Tensor:
    """Embeddings (R, H) float32 of token-id rows, batched by length, in the order given."""
    order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
    parts: list[torch.Tensor] = []
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        ids, mask = pad([rows[r] for r in chunk], pad_id)
        with autocast_context(device, precision):
            parts.append(model.embed(ids.to(device), mask.to(device)).float().cpu())
    if not parts:
        return torch.empty((0, 0))
    flat = torch.cat(parts)  # (R, H) in length order
    out = torch.empty_like(flat)
    out[torch.tensor(order)] = flat
    return out


@torch.no_grad()
def score_candidates(
    model: MatchSum,
    tokenizer: PreTrainedTokenizerBase,
    docs: Sequence[MatchDocument],
    texts: Sequence[str],
    device: torch.device | str = "cpu",
    batch_size: int = 16,
    precision: str = "fp32",
    golds: Sequence[str] | None = None,
) -> tuple[list[list[float]], list[float | None]]:
    """cosine(document, candidate) for every candidate of every document (MatchDocument order).

    Each document is encoded once; all candidates are encoded in batches of
    ``batch_size`` sorted by length, so padding costs little. With ``golds`` (one text
    per document, "" for none) the second list holds cosine(document, gold summary).
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    cfg = model.config
    pad_id = int(tokenizer.pad_token_id or 0)

    def embed(rows: list[str], max_tokens: int) -> torch.Tensor:
        ids = tokenize(tokenizer, rows, max_tokens)
        return embed_texts(model, ids, pad_id, device, batch_size, precision)

    wanted = [i for i, d in enumerate(docs) if d.candidates]
    row = {doc: r for r, doc in enumerate(wanted)}
    doc_emb = embed([texts[i] for i in wanted], cfg.max_doc_tokens)  # (D, H)
    owners = [(i, j) for i in wanted for j in range(len(docs[i].candidates))]
    cand_texts = [candidate_text(texts[i], docs[i].spans, docs[i].candidates[j]) for i, j in owners]
    cand_emb = embed(cand_texts, cfg.max_candidate_tokens)  # (N, H)
    scores: list[list[float]] = [[] for _ in docs]
    for (i, _), value in zip(owners, _cosines(cand_emb, doc_emb, owners, row), strict=True):
        scores[i].append(value)
    gold_scores: list[float | None] = [None] * len(docs)
    if golds is not None:
        with_gold = [i for i in wanted if golds[i].strip()]
        gold_emb = embed([golds[i] for i in with_gold], cfg.max_candidate_tokens)  # (G, H)
        owned = [(i, 0) for i in with_gold]
        for i, value in zip(with_gold, _cosines(gold_emb, doc_emb, owned, row), strict=True):
            gold_scores[i] = value
    model.train(was_training)
    return scores, gold_scores


def _cosines(
    emb: torch.Tensor, doc_emb: torch.Tensor, owners: list[tuple[int, int]], row: dict[int, int]
) -> list[float]:
    """cosine(text, its document) per row of ``emb``; ``owners[r][0]``: its document."""
    if not owners:
        return []
    index = torch.tensor([row[i] for i, _ in owners])
    return [float(v) for v in torch.cosine_similarity(emb, doc_emb[index], dim=-1).tolist()]


def best_candidate(scores: Sequence[float]) -> int:
    """Index of the highest score (the first on ties); -1 when there is none."""
    if not scores:
        return -1
    return max(range(len(scores)), key=lambda j: (scores[j], -j))


@dataclass
class _Raw:
    id: str
    text: str


@dataclass
class Summarizer:
    """A trained MatchSum (with its BertSumExt extractor) ready to summarize raw text."""

    name: ClassVar[str] = "matchsum"

    model: MatchSum
    tokenizer: PreTrainedTokenizerBase
    extractor: BertSumExtSummarizer
    device: torch.device
    batch_size: int = 16  # texts (documents or candidates) per encoder forward
    precision: str = "auto"

    @classmethod
    def load(
        cls, directory: str | Path, device: str | torch.device = "cpu", **settings: Any
    ) -> Summarizer:
        """Load a directory written by ``ml.models.matchsum.train`` (safetensors, no pickle).

        ``settings``: ``batch_size`` (16) and ``precision`` ("auto", the extractor's too).
        """
        model, tokenizer = load_matchsum(directory, device)
        precision = settings.get("precision", "auto")
        extractor = BertSumExtSummarizer.load(
            Path(directory) / EXTRACTOR_DIR, device, batch_size=8, precision=precision
        )
        model.eval()
        settings = {**settings, "precision": prepare_for_inference(model, device, precision)}
        return cls(model, tokenizer, extractor, torch.device(device), **settings)

    def rank(
        self, texts: Sequence[str], max_sentences: int = 3
    ) -> list[tuple[MatchDocument, list[float]]]:
        """Each text's candidates (sentence indices) and their matching scores."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("summarize() takes a list of strings (one per document)")
        if max_sentences < 1:
            raise ValueError("max_sentences must be >= 1")
        docs = build_documents(
            [_Raw(str(i), t) for i, t in enumerate(texts)],
            self.extractor,
            self.model.config,
            max_sentences=max_sentences,
            rank=False,
        )
        scores, _ = score_candidates(
            self.model, self.tokenizer, docs, texts, self.device, self.batch_size, self.precision
        )
        return list(zip(docs, scores, strict=True))

    def summarize(self, texts: Sequence[str], max_sentences: int = 3) -> list[Summary]:
        """One Summary per text: every sentence with its score, the chosen candidate's marked."""
        summaries = []
        for text, (doc, scores) in zip(texts, self.rank(texts, max_sentences), strict=True):
            best = best_candidate(scores)
            chosen = set(doc.candidates[best]) if best >= 0 else set()
            notes = []
            if best >= 0:
                notes.append(
                    f"MatchSum chose candidate {best + 1} of {len(scores)} "
                    f"(matching score {scores[best]:.4f}); sentence scores are the "
                    "BertSumExt extractor's probabilities"
                )
            limit = self.model.config.max_doc_tokens
            if len(tokenize(self.tokenizer, [text], limit)[0]) >= limit:
                notes.append(
                    f"the document embedding reads its first {limit} tokens "
                    "(candidates come from the whole document)"
                )
            unscored = len(doc.cuts)
            if unscored:
                notes.append(
                    f"{unscored} sentence(s) were not scored by the extractor (score 0) "
                    "and cannot be selected"
                )
            if not doc.spans:
                notes.append("the text has no sentences")
            summaries.append(
                summary_of(text, doc.spans, doc.sentence_scores, chosen, self.name, notes)
            )
        return summaries
