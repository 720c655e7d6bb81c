"""MatchSum (Zhong et al. 2020): extractive summarization as semantic text matching.

One model, one file: :class:`MatchSum` is built only from its
:class:`~ml.models.matchsum.config.MatchSumConfig` (model, candidate and loss
settings, so a checkpoint is self-describing).

A BertSumExt model prunes the document to its top-k sentences; every combination of
``candidate_sizes`` of them (in document order) is a candidate summary (see
``ml.models.matchsum.features``). A Siamese encoder (one encoder, shared weights) embeds the
document and each candidate; a candidate's score is cosine(document, candidate) and
the summary is the best-scoring candidate. Training ranks the candidates by their
ROUGE against the reference (margin loss, :meth:`MatchSum.loss`).

Shapes: B documents, C candidate slots per document (padded), N real candidates in
the batch, T tokens, H encoder hidden size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel

from ml.batches import batch_to
from ml.encoders import encoder_pooler, load_pretrained_encoder, model_encoder
from ml.models.matchsum.config import MatchSumConfig


@dataclass
class MatchBatch:
    """Model inputs for B documents and their candidates (best candidate first per row)."""

    doc_ids: torch.Tensor  # (B, Td)
    doc_mask: torch.Tensor  # (B, Td) 1 = token
    candidate_ids: torch.Tensor  # (N, Tc) the real candidates, row-major over (B, C)
    candidate_mask: torch.Tensor  # (N, Tc) 1 = token
    candidate_slots: torch.Tensor  # (B, C) bool, True = a real candidate in that slot
    gold_ids: torch.Tensor | None = None  # (B, Tg) the reference summary
    gold_mask: torch.Tensor | None = None  # (B, Tg)

    def to(self, device: torch.device | str) -> MatchBatch:
        return batch_to(self, device)


@dataclass
class MatchOutput:
    scores: torch.Tensor  # (B, C) cosine(document, candidate); 0 in empty slots
    gold_scores: torch.Tensor | None  # (B,) cosine(document, gold summary)


class MatchSum(nn.Module):
    """Siamese encoder scoring candidate summaries against their document."""

    def __init__(self, config: MatchSumConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__()
        encoder = model_encoder(encoder, config.encoder_config, "MatchSum")
        config.encoder_config = encoder.config.to_dict()
        if config.pooling == "pooler":
            encoder_pooler(encoder, "model.pooling")  # fails at build time, not at step 1
        self.config = config
        self.encoder = encoder

    @classmethod
    def from_pretrained_encoder(cls, config: MatchSumConfig) -> MatchSum:
        """A new model on the pretrained encoder ``config.encoder`` (MatchSum adds no weights)."""
        return cls(config, load_pretrained_encoder(config.encoder, config.attention_dropout))

    def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Text embeddings: ids, mask (N, T) -> (N, H), by ``config.pooling``."""
        top = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (N, T, H)
        if self.config.pooling == "cls":
            return top[:, 0]
        if self.config.pooling == "pooler":  # the pooler reads the first token's state
            pooled: torch.Tensor = encoder_pooler(self.encoder, "model.pooling")(top)
            return pooled
        weights = mask.unsqueeze(-1).to(top.dtype)  # (N, T, 1)
        return (top * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def embed_sorted(self, ids: torch.Tensor, mask: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        """:meth:`embed` in chunks of similar length, each cut to its longest row: (N, H).

        Candidates vary in length; padding them all to the longest wastes compute.
        """
        lengths = mask.sum(1)  # (N,)
        order = torch.argsort(lengths)
        parts = []
        for rows in order.split(chunk):
            width = int(lengths[rows].max())
            parts.append(self.embed(ids[rows, :width], mask[rows, :width]))
        out = torch.cat(parts)  # (N, H) in length order
        return out[torch.argsort(order)]

    def forward(self, batch: MatchBatch) -> MatchOutput:
        doc = self.embed(batch.doc_ids, batch.doc_mask).float()  # (B, H)
        cand = self.embed_sorted(batch.candidate_ids, batch.candidate_mask).float()  # (N, H)
        owner = batch.candidate_slots.nonzero()[:, 0]  # (N,) the document of each candidate
        flat = torch.cosine_similarity(cand, doc[owner], dim=-1)  # (N,)
        scores = flat.new_zeros(batch.candidate_slots.shape)  # (B, C)
        scores[batch.candidate_slots] = flat  # row-major order matches candidate_ids
        gold = None
        if batch.gold_ids is not None and batch.gold_mask is not None:
            gold_emb = self.embed(batch.gold_ids, batch.gold_mask).float()  # (B, H)
            gold = torch.cosine_similarity(gold_emb, doc, dim=-1)  # (B,)
        return MatchOutput(scores, gold)

    @staticmethod
    def loss(
        scores: torch.Tensor,
        slots: torch.Tensor,
        gold_scores: torch.Tensor | None,
        margin: float,
        gold_margin: float = 0.0,
        gold_weight: float = 1.0,
    ) -> torch.Tensor:
        """Candidate ranking loss + gold loss (the paper's eq. 4-6; the reference's metrics.py).

        ``scores`` (B, C) are sorted per row by the candidates' ROUGE, best first, and
        ``slots`` (B, C) marks real candidates (padding only at the end of a row). For
        each rank gap i = 1 .. C-1, every pair (j, j+i) of real candidates costs
        ``max(0, score[j+i] - score[j] + margin * i)``, averaged over the pairs of that
        gap (as torch's MarginRankingLoss does in the reference code); the gaps are
        summed. The gold loss is ``max(0, score[j] - gold + gold_margin)`` averaged over
        the real candidates. Deviation: the reference loops over gaps 1 .. C-2 and so
        never compares the best with the worst candidate; the paper (and this) uses
        every gap.
        """
        scores = scores.float()
        total = scores.new_zeros(())
        for gap in range(1, scores.size(1)):
            better, worse = scores[:, :-gap], scores[:, gap:]  # (B, C - gap)
            valid = slots[:, :-gap] & slots[:, gap:]
            if valid.any():
                cost = torch.relu(worse - better + margin * gap)
                total = total + cost[valid].mean()
        if gold_scores is not None and slots.any():
            cost = torch.relu(scores - gold_scores.float().unsqueeze(-1) + gold_margin)  # (B, C)
            total = total + gold_weight * cost[slots].mean()
        return total
