"""How an abstractive model generates (torch-free): :class:`GenerationConfig`.

The defaults are bart-large-cnn's own summarization settings (its config's
``task_specific_params``): beam search with 4 beams, 56 to 142 new tokens, length
penalty 2, no repeated trigram. The service passes its ``ABSTRACTIVE_*`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ml.settings import ConfigError, Settings, setting


@dataclass
class GenerationConfig(Settings):
    """Beam search and length settings of ``generate``, and the input cut."""

    num_beams: int = setting(4, minimum=1, help="beams of the beam search")
    min_new_tokens: int = setting(56, minimum=0, help="the summary's minimum length in tokens")
    max_new_tokens: int = setting(142, minimum=1, help="the summary's maximum length in tokens")
    length_penalty: float = setting(2.0, help="> 1 favours longer beams, < 1 shorter")
    no_repeat_ngram_size: int = setting(3, minimum=0, help="no n-gram twice (0: off)")
    # Where a document is cut: the model's input limit (its position table or its
    # tokenizer's model_max_length), at most this many tokens.
    max_input_tokens: int = setting(1024, minimum=8, help="input tokens read per document")
    batch_size: int = setting(4, minimum=1, help="documents per generate call")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_new_tokens > self.max_new_tokens:
            raise ConfigError("min_new_tokens must not exceed max_new_tokens")


def is_local(name: str) -> bool:
    """Whether ``name`` loads without a download: a directory, or a Hugging Face name
    whose config is in the local cache (a cheap check; loading reads the rest)."""
    if not name:
        return False
    path = Path(name).expanduser()
    if path.is_dir():
        return True
    if path.is_absolute() or name.startswith((".", "~")):
        return False
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except ValueError:  # not a valid repository id
        return False


__all__ = ["ConfigError", "GenerationConfig", "is_local"]
