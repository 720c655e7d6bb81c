"""Frozen-encoder sentence vectors for training BertSumExt's head alone.

Encoding each window once without gradients and training only the inter-sentence
head on the cached vectors costs one forward pass per window plus seconds per epoch;
the trained head then starts fine-tuning instead of a random one, so the encoder's
first updates follow a useful signal ("linear probing then fine-tuning").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ml.models.bertsumext.features import Window, collate
from ml.models.bertsumext.model import BertSumExt


@torch.no_grad()
def encode_windows(
    model: BertSumExt, windows: Sequence[Window], pad_id: int, batch_size: int = 16
) -> list[torch.Tensor]:
    """The pooled sentence vectors (k, H) of each window, in the order given."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    out: dict[int, torch.Tensor] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        sents = model.sentence_vectors(collate([windows[i] for i in idx], pad_id).to(device))
        for r, i in enumerate(idx):
            out[i] = sents[r, : len(windows[i].cls_positions)].float().cpu()
    model.train(was_training)
    return [out[i] for i in range(len(windows))]  # every window was encoded once


def head_batch(
    windows: Sequence[Window], vectors: Sequence[torch.Tensor], index: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded head inputs for ``windows`` whose vectors are ``vectors[index[r]]``:
    sentence vectors (B, S, H), mask (B, S), positions (B, S), labels (B, S)."""
    b = len(windows)
    s = max(max(len(w.cls_positions) for w in windows), 1)
    h = vectors[index[0]].size(-1)
    sents = torch.zeros(b, s, h)
    mask = torch.zeros(b, s, dtype=torch.bool)
    positions = torch.zeros(b, s, dtype=torch.long)
    labels = torch.zeros(b, s)
    for r, (w, i) in enumerate(zip(windows, index, strict=True)):
        k = len(w.cls_positions)
        sents[r, :k] = vectors[i]
        mask[r, :k] = True
        positions[r, :k] = torch.tensor(w.sentences[:k])
        if w.labels is not None:
            labels[r, :k] = torch.tensor(w.labels[:k], dtype=torch.float)
    return sents, mask, positions, labels


def train_head(
    model: BertSumExt,
    windows: Sequence[Window],
    vectors: Sequence[torch.Tensor],
    epochs: int,
    lr: float,
    batch_size: int = 32,
    seed: int = 1,
    after_epoch: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model.head`` alone on the cached ``vectors`` of ``windows``; the mean BCE
    of each epoch. Warmup over the first tenth of the steps (at most 100), then linear
    decay to 0."""
    head = model.head
    device = next(head.parameters()).device
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    per_epoch = -(-len(windows) // batch_size)
    total = per_epoch * epochs
    warmup = max(1, min(100, total // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / total)
    )
    generator = torch.Generator().manual_seed(seed)
    was_training = head.training
    head.train()
    losses: list[float] = []
    for epoch in range(epochs):
        order = torch.randperm(len(windows), generator=generator).tolist()
        total_loss = 0.0
        for s in range(per_epoch):
            idx = order[s * batch_size : (s + 1) * batch_size]
            sents, mask, positions, labels = (
                t.to(device) for t in head_batch([windows[i] for i in idx], vectors, idx)
            )
            loss = BertSumExt.loss(head(sents, mask, positions), labels, mask)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total_loss += loss.item()
        losses.append(total_loss / per_epoch)
        if after_epoch is not None:
            after_epoch(epoch + 1, losses[-1])
    head.train(was_training)
    return losses
