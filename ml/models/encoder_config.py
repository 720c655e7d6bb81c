"""The encoder settings every model config starts with (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ml.settings import DEFAULT_ENCODER, Settings, setting


@dataclass
class EncoderSettings(Settings):
    """Which pretrained encoder a model is built on (fields of its ``model`` settings)."""

    section: ClassVar[str] = "model"

    encoder: str = setting(
        DEFAULT_ENCODER,
        help="encoder: default / all-MiniLM-L6-v2 (packaged), a Hugging Face name or a dir",
    )
    # The encoder's own config (``PretrainedConfig.to_dict()``); filled in when the
    # pretrained encoder is loaded and stored in checkpoints, so loading a checkpoint
    # never needs the original weights. When it is set, the model builds a randomly
    # initialised encoder from it (tests use a tiny random BERT this way).
    encoder_config: dict[str, Any] | None = setting(
        None, cli=False, help="the encoder's own config (filled in)"
    )
    attention_dropout: float | None = setting(
        None,
        minimum=0,
        below=1,
        help="attention dropout; 0 enables the fast SDPA path on CPU (None: the encoder's)",
    )
