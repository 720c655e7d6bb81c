"""BertSumExt (Liu & Lapata 2019): a pretrained encoder + inter-sentence Transformer + classifier.

One model, one file: :class:`BertSumExt` is built only from its
:class:`~ml.models.bertsumext.config.BertSumExtConfig` (model and data settings, so a
checkpoint is self-describing).

Input (see ``ml.models.bertsumext.features``): ``[CLS] s1 [SEP] [CLS] s2 [SEP] ...`` with interval
segment ids (0/1 alternating per sentence); sentence vectors are the encoder's top
states at the ``[CLS]`` positions (or, as options, those through the encoder's
pretrained pooler, or the mean of each sentence's states). Shapes: B documents,
T tokens, S sentences, H encoder hidden size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from ml.batches import batch_to
from ml.encoders import (
    encoder_pooler,
    extend_position_embeddings,
    load_pretrained_encoder,
    model_encoder,
    pool_first_tokens,
)
from ml.models.bertsumext.config import BertSumExtConfig


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sine/cosine encodings: positions (B, S) -> (B, S, dim)."""
    half = dim // 2
    freq = torch.exp(
        torch.arange(half, device=positions.device, dtype=torch.float32)
        * (-math.log(10000.0) / max(half, 1))
    )  # (half,)
    angles = positions.float().unsqueeze(-1) * freq  # (B, S, half)
    enc = torch.zeros(*positions.shape, dim, device=positions.device)
    enc[..., 0 : 2 * half : 2] = torch.sin(angles)
    enc[..., 1 : 2 * half : 2] = torch.cos(angles)
    return enc


@dataclass
class ExtBatch:
    """Model inputs for B windows (padded)."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T) 1 = token
    token_type_ids: torch.Tensor  # (B, T) interval segments
    cls_positions: torch.Tensor  # (B, S) index of each sentence's [CLS]; 0 where padded
    sentence_mask: torch.Tensor  # (B, S) bool, True = real sentence
    sentence_positions: torch.Tensor  # (B, S) sentence index in the document
    labels: torch.Tensor | None = None  # (B, S) float 0/1
    extras: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> ExtBatch:
        return batch_to(self, device)


def mean_pool_sentences(top: torch.Tensor, batch: ExtBatch) -> torch.Tensor:
    """Mean of each sentence's token states: top (B, T, H) -> (B, S, H).

    A token belongs to the last sentence whose [CLS] is at or before it; padding tokens
    belong to none. Padded sentences get zeros.
    """
    b, t, _ = top.shape
    s = batch.cls_positions.size(1)
    starts = torch.zeros(b, t, device=top.device)
    # scatter_add, not scatter: padded sentences point at position 0 with weight 0.
    starts.scatter_add_(1, batch.cls_positions, batch.sentence_mask.float())
    owner = starts.cumsum(dim=1).long() - 1  # (B, T) sentence index of each token
    sentence_ids = torch.arange(s, device=top.device).view(1, s, 1)
    member = (owner.unsqueeze(1) == sentence_ids) & batch.attention_mask.bool().unsqueeze(1)
    weights = member.to(top.dtype)  # (B, S, T)
    return (weights @ top) / weights.sum(-1, keepdim=True).clamp(min=1.0)


class InterSentenceEncoder(nn.Module):
    """PreSumm's ExtTransformerEncoder: sentence positions + pre-LN Transformer + sigmoid head."""

    def __init__(self, config: BertSumExtConfig, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=hidden,
                nhead=config.ext_heads,
                dim_feedforward=config.ext_ff_size,
                dropout=config.ext_dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,  # pre-LN as in PreSumm's code
            )
            for _ in range(config.ext_layers)
        )
        self.norm = nn.LayerNorm(hidden, eps=1e-6)
        self.classifier = nn.Linear(hidden, 1)

    def forward(
        self, sents: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        # sents (B, S, H), mask (B, S) bool, positions (B, S) -> logits (B, S)
        x = sents * mask.unsqueeze(-1).to(sents.dtype)
        x = x + sinusoidal_positions(positions, self.hidden).to(x.dtype)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~mask)  # (B, S, H)
        logits = self.classifier(self.norm(x)).squeeze(-1)  # (B, S)
        return logits.masked_fill(~mask, -1e4)


class BertSumExt(nn.Module):
    """Sentence scores for extractive summarization; ``forward`` returns logits (B, S)."""

    def __init__(self, config: BertSumExtConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__()
        encoder = model_encoder(encoder, config.encoder_config, "BertSumExt")
        extend_position_embeddings(encoder, config.max_pos)
        config.encoder_config = encoder.config.to_dict()
        self.config = config
        self.encoder = encoder
        self.use_segments = int(getattr(encoder.config, "type_vocab_size", 0) or 0) >= 2
        if config.sentence_pooling == "pooler":
            encoder_pooler(encoder, "model.sentence_pooling")  # fails now, not at step 1
        self.head = InterSentenceEncoder(config, int(encoder.config.hidden_size))

    @classmethod
    def from_pretrained_encoder(cls, config: BertSumExtConfig) -> BertSumExt:
        """A new model on top of the pretrained encoder ``config.encoder`` (head random)."""
        return cls(config, load_pretrained_encoder(config.encoder, config.attention_dropout))

    def sentence_vectors(self, batch: ExtBatch) -> torch.Tensor:
        """The encoder's vector of each sentence (B, S, H), the head's input."""
        token_types = batch.token_type_ids if self.use_segments else None
        top = self.encoder(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            token_type_ids=token_types,
        ).last_hidden_state  # (B, T, H)
        if self.config.sentence_pooling == "mean":
            return mean_pool_sentences(top, batch)
        rows = torch.arange(top.size(0), device=top.device).unsqueeze(-1)  # (B, 1)
        cls = top[rows, batch.cls_positions]  # (B, S, H)
        if self.config.sentence_pooling == "pooler":
            return pool_first_tokens(encoder_pooler(self.encoder, "model.sentence_pooling"), cls)
        return cls

    def forward(self, batch: ExtBatch) -> torch.Tensor:
        sents = self.sentence_vectors(batch)
        return self.head(sents, batch.sentence_mask, batch.sentence_positions)

    @staticmethod
    def loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """BCE over real sentences, averaged over them (PreSumm sums then divides by B*S).

        A label of -1 leaves that sentence out of the loss (context repeated in a window).
        """
        counted = mask & (labels >= 0)
        per_sentence = nn.functional.binary_cross_entropy_with_logits(
            logits.float(), labels.float().clamp(min=0.0), reduction="none"
        )  # (B, S)
        weights = counted.float()
        return (per_sentence * weights).sum() / weights.sum().clamp(min=1.0)
