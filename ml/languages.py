"""Which languages an encoder reads, measured from its tokenizer on built-in samples.

A tokenizer that was not trained on a language shows it in one of two ways: it maps
the text to its unknown token (WordPiece without the script), or it falls apart into
pieces shorter than a character (bytes of a byte-level BPE or of SentencePiece's byte
fallback; all-MiniLM-L6-v2's uncased WordPiece decomposes Hangul into jamo). Both are
measured on a few sentences per language written for this module:

- ``unknown_rate``: unknown tokens / tokens;
- ``characters_per_token``: non-space characters / tokens (fragments give < 1).

A language is *read* when ``unknown_rate <= MAX_UNKNOWN_RATE`` and
``characters_per_token >= MIN_CHARACTERS_PER_TOKEN``. With all-MiniLM-L6-v2, English
gives 4.2 characters per token, Korean 0.5 (jamo, 3% unknown), Russian 1.0 (letters).
This measures whether the vocabulary covers a script and language, not how well the
encoder was trained on it: a language sharing English's script and many subwords
(German: 2.3) would pass, which is why only languages the service tells apart
(``ml.text.sentences.detect_language``: English, Korean) plus one control are sampled.
The measurement is stored in every checkpoint (ml/checkpoints.py) and repeated from
the checkpoint's own tokenizer files for checkpoints saved before it existed.

Torch- and transformers-free: the web process measures an encoder's ``tokenizer.json``
with the ``tokenizers`` library when it checks a training run's documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Encode = Callable[[str], list[int]]

# Bump when the samples or the thresholds change: stored measurements of another
# method are measured again on load.
METHOD_VERSION = 1
LANGUAGES_KEY = "languages"  # where checkpoints' config.json keep the measurement
MAX_UNKNOWN_RATE = 0.02
MIN_CHARACTERS_PER_TOKEN = 1.2

LANGUAGE_NAMES = {"en": "English", "ko": "Korean", "ru": "Russian"}

# Short everyday sentences, written for this module (no corpus text).
LANGUAGE_SAMPLES: dict[str, tuple[str, ...]] = {
    "en": (
        "The city will open two new bus lanes next month.",
        "Most residents said the morning commute had become shorter.",
        "A spokesperson declined to comment on the cost of the project.",
    ),
    "ko": (
        "시는 다음 달부터 버스 전용차로 두 곳을 새로 운영한다.",
        "대부분의 주민들은 아침 출근 시간이 짧아졌다고 말했다.",
        "대변인은 사업 비용에 대해서는 언급하지 않았다.",
    ),
    "ru": (
        "В следующем месяце город откроет две новые автобусные полосы.",
        "Большинство жителей сказали, что дорога на работу стала короче.",
        "Представитель мэрии отказался комментировать стоимость проекта.",
    ),
}


@dataclass(frozen=True)
class LanguageCoverage:
    """The languages a tokenizer (and so its encoder) reads, with the measurements."""

    covered: tuple[str, ...]
    measured: dict[str, dict[str, float]] = field(default_factory=dict)
    method: int = METHOD_VERSION

    def reads(self, language: str) -> bool:
        """True for a covered language, and for one that was not measured (no evidence)."""
        return language in self.covered or language not in self.measured

    def evidence(self, language: str) -> str:
        """``measured on the tokenizer: 0.50 characters per token, 3.0% unknown tokens``."""
        numbers = self.measured.get(language)
        if not numbers:
            return "not measured"
        return (
            f"measured on its tokenizer: {numbers['characters_per_token']:.2f} characters "
            f"per token, {100 * numbers['unknown_rate']:.1f}% unknown tokens"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"covered": list(self.covered), "measured": self.measured, "method": self.method}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LanguageCoverage:
        return cls(
            covered=tuple(data["covered"]),
            measured={k: dict(v) for k, v in data.get("measured", {}).items()},
            method=int(data.get("method", 0)),
        )


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def describe_language(code: str) -> str:
    """``Korean ('ko')``."""
    return f"{language_name(code)} ('{code}')"


def measure_language(encode: Encode, unknown_id: int | None, sentences: Iterable[str]) -> dict:
    """``unknown_rate`` and ``characters_per_token`` of ``encode`` (text -> token ids,
    no special tokens) on ``sentences``."""
    tokens = unknown = characters = 0
    for sentence in sentences:
        ids = encode(sentence)
        tokens += len(ids)
        unknown += sum(1 for i in ids if unknown_id is not None and i == unknown_id)
        characters += sum(1 for c in sentence if not c.isspace())
    return {
        "unknown_rate": round(unknown / tokens, 4) if tokens else 1.0,
        "characters_per_token": round(characters / tokens, 3) if tokens else 0.0,
    }


def measure_languages(tokenizer: Any) -> LanguageCoverage:
    """Measure every sample language and say which ones ``tokenizer`` reads: a
    transformers tokenizer or a ``tokenizers.Tokenizer``."""
    encode, unknown_id = _encoder(tokenizer)
    measured = {
        code: measure_language(encode, unknown_id, sentences)
        for code, sentences in LANGUAGE_SAMPLES.items()
    }
    covered = tuple(
        code
        for code, numbers in measured.items()
        if numbers["unknown_rate"] <= MAX_UNKNOWN_RATE
        and numbers["characters_per_token"] >= MIN_CHARACTERS_PER_TOKEN
    )
    return LanguageCoverage(covered, measured)


def _encoder(tokenizer: Any) -> tuple[Encode, int | None]:
    if hasattr(tokenizer, "get_vocab_size"):  # tokenizers.Tokenizer (the Rust one)
        return (
            lambda text: list(tokenizer.encode(text, add_special_tokens=False).ids),
            _tokenizer_unknown_id(tokenizer),
        )
    return (
        lambda text: list(tokenizer(text, add_special_tokens=False)["input_ids"]),
        tokenizer.unk_token_id,  # None for byte-level tokenizers
    )


def _tokenizer_unknown_id(tokenizer: Any) -> int | None:
    model = json.loads(tokenizer.to_str()).get("model", {})
    if isinstance(model.get("unk_id"), int):  # Unigram
        return int(model["unk_id"])
    token = model.get("unk_token")  # WordPiece, BPE (None for byte-level)
    found = tokenizer.token_to_id(token) if isinstance(token, str) else None
    return int(found) if found is not None else None


def tokenizer_file_coverage(directory: str | Path) -> LanguageCoverage | None:
    """Measure the ``tokenizer.json`` of a model directory; None if it has none."""
    path = Path(directory) / "tokenizer.json"
    if not path.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()  # a saved file may pad every input to a fixed length
    tokenizer.no_truncation()
    return measure_languages(tokenizer)


def stored_coverage(config: Mapping[str, Any]) -> LanguageCoverage | None:
    """The measurement a checkpoint's config.json holds, if made by this method."""
    stored = config.get(LANGUAGES_KEY)
    if isinstance(stored, dict):
        coverage = LanguageCoverage.from_dict(stored)
        if coverage.method == METHOD_VERSION:
            return coverage
    return None


def encoder_coverage(name: str) -> LanguageCoverage | None:
    """The languages pretrained encoder ``name`` reads (its ``tokenizer.json``: packaged,
    a local directory or the local Hugging Face cache); None where there is none."""
    from ml.encoder_names import resolve_encoder

    path, local = resolve_encoder(name)
    if local:
        return tokenizer_file_coverage(path)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(path, "tokenizer.json")
    return tokenizer_file_coverage(Path(cached).parent) if isinstance(cached, str) else None


def checkpoint_coverage(directory: str | Path) -> LanguageCoverage | None:
    """A model directory's languages: stored in its config.json, else measured on its
    tokenizer.json; None when it has neither (ml.checkpoints then loads its tokenizer)."""
    config_path = Path(directory) / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    return stored_coverage(config if isinstance(config, dict) else {}) or (
        tokenizer_file_coverage(directory)
    )
