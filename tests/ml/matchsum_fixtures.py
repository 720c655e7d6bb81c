"""Tiny MatchSum configs, a tiny random BertSumExt extractor and toy documents (never real data)."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from ext_fixtures import WORDS, tiny_config

from ml.bertsumext import BertSumExt
from ml.checkpoint import save_pretrained
from ml.data import Example
from ml.encoders import load_tokenizer, tiny_bert_config
from ml.matchsum import MatchSumConfig
from ml.matchsum_train import MatchSumTrainConfig

# Key sentences (the reference copies them) use one half of the vocabulary, the
# other sentences the other half: a pattern a tiny model can learn.
KEY_WORDS = WORDS[::2]
OTHER_WORDS = WORDS[1::2]


def tiny_match_config(**overrides: object) -> MatchSumConfig:
    """A random 2-layer, 32-wide BERT with the packaged vocabulary."""
    settings: dict[str, object] = dict(
        encoder_config=tiny_bert_config(
            hidden_size=32,
            num_layers=2,
            num_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
        ),
        max_doc_tokens=128,
        max_candidate_tokens=64,
    )
    settings.update(overrides)
    return MatchSumConfig(**settings)  # type: ignore[arg-type]


def tiny_match_train_config(**overrides: object) -> MatchSumTrainConfig:
    settings: dict[str, object] = dict(
        model=tiny_match_config(),
        batch_size=2,
        lr=3e-3,
        warmup_steps=2,
        max_steps=6,
        eval_every=3,
        precision="fp32",
        eval_batch_size=16,
        log_every=1,
    )
    settings.update(overrides)
    return MatchSumTrainConfig(**settings)  # type: ignore[arg-type]


def save_tiny_extractor(directory: Path, seed: int = 0) -> Path:
    """A random tiny BertSumExt checkpoint (its scores are arbitrary but deterministic)."""
    torch.manual_seed(seed)
    model = BertSumExt(tiny_config()).eval()
    return save_pretrained(model, load_tokenizer("default"), directory)


def _sentence(rng: random.Random, words: list[str], n: int = 8) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def keyed_examples(count: int, sentences: int = 5, seed: int = 0) -> list[Example]:
    """Documents with two key sentences (key words only) that the reference copies."""
    rng = random.Random(seed)
    out = []
    for d in range(count):
        keys = sorted(rng.sample(range(sentences), 2))
        sents = [_sentence(rng, KEY_WORDS if i in keys else OTHER_WORDS) for i in range(sentences)]
        out.append(Example(f"doc{d}", " ".join(sents), "\n".join(sents[i] for i in keys)))
    return out
