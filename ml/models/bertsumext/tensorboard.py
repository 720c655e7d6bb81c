"""BertSumExt's TensorBoard views: what to trace for the graph, which modules to watch,
and the validation sentence vectors for the embedding projector (with each sentence's
document, text, gold label, probability and FP/FN/TP/TN outcome)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from ml.models.bertsumext.features import DocumentFeatures, Window, collate, document_windows
from ml.models.bertsumext.model import BertSumExt, ExtBatch
from ml.training.results import ValidationOutput
from ml.training.tensorboard import GraphInputs, log_projector, top_encoder_layer

PROJECTOR_HEADER = ("document", "sentence", "text", "label", "probability", "outcome")


class TracedBertSumExt(nn.Module):
    """BertSumExt on plain tensors (``add_graph`` traces tensors, not an ExtBatch)."""

    def __init__(self, model: BertSumExt) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        cls_positions: torch.Tensor,
        sentence_mask: torch.Tensor,
        sentence_positions: torch.Tensor,
    ) -> torch.Tensor:
        batch = ExtBatch(
            input_ids,
            attention_mask,
            token_type_ids,
            cls_positions,
            sentence_mask,
            sentence_positions,
        )
        logits: torch.Tensor = self.model(batch)
        return logits


def graph_inputs(model: BertSumExt, windows: Sequence[Window], pad_id: int) -> GraphInputs:
    """The model and its first two training windows, on the model's device."""
    device = next(model.parameters()).device
    batch = collate(list(windows[:2]), pad_id).to(device)
    tensors = (
        batch.input_ids,
        batch.attention_mask,
        batch.token_type_ids,
        batch.cls_positions,
        batch.sentence_mask,
        batch.sentence_positions,
    )
    return TracedBertSumExt(model), tensors


def watched_modules(model: BertSumExt) -> dict[str, nn.Module]:
    """The new head and the encoder's top layer: histograms at each validation."""
    return {"head": model.head, "encoder_top": top_encoder_layer(model.encoder)}


@torch.no_grad()
def sentence_vectors(
    model: BertSumExt,
    tokenizer: PreTrainedTokenizerBase,
    docs: Sequence[DocumentFeatures],
    batch_size: int,
) -> dict[tuple[int, int], torch.Tensor]:
    """The head's input vector of every scored sentence: (doc position, sentence index) ->
    (H,), from the window that scores it (as ``score_features`` takes its scores)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    windows = [
        w
        for i, d in enumerate(docs)
        if d.scored
        for w in document_windows(d, i, tokenizer, model.config)
    ]
    pad_id = int(tokenizer.pad_token_id or 0)
    out: dict[tuple[int, int], torch.Tensor] = {}
    for start in range(0, len(windows), batch_size):
        chunk = windows[start : start + batch_size]
        vectors = model.sentence_vectors(collate(chunk, pad_id).to(device)).float().cpu()
        for r, w in enumerate(chunk):
            for k in range(w.score_from, len(w.cls_positions)):
                out[(w.doc, docs[w.doc].scored[w.sentences[k]])] = vectors[r, k]
    model.train(was_training)
    return out


def outcome(label: int | None, selected: bool) -> str:
    if label is None:
        return "unlabelled"
    return ("TP" if label else "FP") if selected else ("FN" if label else "TN")


def log_sentence_projector(
    writer: Any,
    model: BertSumExt,
    tokenizer: PreTrainedTokenizerBase,
    docs: Sequence[DocumentFeatures],
    result: ValidationOutput,
    step: int,
    batch_size: int = 16,
) -> None:
    """The projector of the validation sentences of ``docs`` (the first validation
    documents), with the metadata of ``result``, the validation just run."""
    if writer is None or not docs:
        return
    vectors = sentence_vectors(model, tokenizer, docs, batch_size)
    rows, kept = [], []
    for d, prediction in enumerate(result.documents[: len(docs)]):
        for s in prediction.sentences:
            vector = vectors.get((d, s.index))
            if vector is None:  # not scored (too short, or cut): no vector
                continue
            probability = "" if s.probability is None else f"{s.probability:.4f}"
            label = "" if s.label is None else s.label
            rows.append(
                (prediction.id, s.index, s.text, label, probability, outcome(s.label, s.selected))
            )
            kept.append(vector)
    if kept:
        log_projector(writer, torch.stack(kept), rows, PROJECTOR_HEADER, step)
