"""Loading a pretrained seq2seq summarizer from local files only, and generating with it.

``AutoModelForSeq2SeqLM`` covers BART (bart-large-cnn), T5 (t5-small ... t5-11b),
Pegasus and the like. Nothing is downloaded: a directory is read as is, a Hugging Face
name only from the local cache (``local_files_only=True``); anything else is a
:class:`AbstractiveModelNotFound` that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ml.models.abstractive.config import GenerationConfig

# Tokenizers without a limit report a huge model_max_length.
_NO_LIMIT = 1_000_000


class AbstractiveModelNotFound(ValueError):
    """The name is neither a local directory nor a model in the local Hugging Face cache."""


def load_seq2seq(
    name: str, device: str | torch.device = "cpu"
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model (eval mode, on ``device``) and its tokenizer, from local files only."""
    path = Path(name).expanduser()
    source = str(path.resolve()) if path.is_dir() else name
    if not path.is_dir() and (path.is_absolute() or name.startswith((".", "~"))):
        raise AbstractiveModelNotFound(f"abstractive model directory {name!r} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise AbstractiveModelNotFound(
            f"cannot load abstractive model {name!r} from local files (nothing is "
            f"downloaded; save it to a directory or the Hugging Face cache first): {exc}"
        ) from exc
    return model.to(device).eval(), tokenizer


def input_limit(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cap: int) -> int:
    """Tokens one input can hold: the position table, the tokenizer's limit, ``cap``."""
    limits = [cap]
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        limits.append(int(positions))
    if 0 < int(tokenizer.model_max_length) < _NO_LIMIT:
        limits.append(int(tokenizer.model_max_length))
    return min(limits)


def task_prefix(model: PreTrainedModel) -> str:
    """T5's "summarize: " (from its config's summarization parameters), else ""."""
    params = getattr(model.config, "task_specific_params", None) or {}
    return str(params.get("summarization", {}).get("prefix", ""))


@torch.no_grad()
def generate(
    model: Any,  # a PreTrainedModel with a GenerationMixin (mypy sees no generate)
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    config: GenerationConfig,
    limit: int,
) -> list[str]:
    """Beam-search summaries of ``texts``, each input cut at ``limit`` tokens."""
    device = next(model.parameters()).device
    inputs = tokenizer(
        list(texts), truncation=True, max_length=limit, padding=True, return_tensors="pt"
    ).to(device)
    output = model.generate(
        input_ids=inputs["input_ids"],  # not token_type_ids: seq2seq models take none
        attention_mask=inputs["attention_mask"],
        num_beams=config.num_beams,
        min_new_tokens=config.min_new_tokens,
        max_new_tokens=config.max_new_tokens,
        length_penalty=config.length_penalty,
        no_repeat_ngram_size=config.no_repeat_ngram_size,
        early_stopping=True,
    )
    return [t.strip() for t in tokenizer.batch_decode(output, skip_special_tokens=True)]
