"""Tiny BertSumExt configs and toy documents for the ml tests (never real data)."""

from __future__ import annotations

import random

import torch

from ml.bertsumext import BertSumExtConfig
from ml.data import Example
from ml.encoders import tiny_bert_config
from ml.train import TrainConfig

WORDS = [
    "river",
    "garden",
    "market",
    "council",
    "school",
    "harbor",
    "bridge",
    "festival",
    "library",
    "museum",
    "station",
    "farmer",
    "teacher",
    "mayor",
    "doctor",
    "pilot",
    "driver",
    "singer",
    "player",
    "writer",
    "painter",
    "engineer",
    "opened",
    "closed",
    "visited",
    "painted",
    "repaired",
    "celebrated",
    "announced",
    "delayed",
    "approved",
    "built",
    "green",
    "quiet",
    "busy",
    "ancient",
    "modern",
    "small",
    "large",
    "northern",
    "southern",
    "local",
    "famous",
]


# Tiny models gain nothing from threads, and on a shared 2-core machine extra threads
# only contend with other processes.
torch.set_num_threads(1)


def tiny_config(**overrides: object) -> BertSumExtConfig:
    """A random 2-layer, 32-wide BERT with the packaged vocabulary and a matching small head."""
    settings: dict[str, object] = dict(
        encoder_config=tiny_bert_config(
            hidden_size=32,
            num_layers=2,
            num_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
        ),
        max_pos=128,
        ext_layers=2,
        ext_heads=2,
        ext_ff_size=64,
    )
    settings.update(overrides)
    return BertSumExtConfig(**settings)  # type: ignore[arg-type]


def sentence(rng: random.Random, n: int = 8) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def toy_examples(count: int, sentences: int = 6, seed: int = 0) -> list[Example]:
    """Documents whose reference copies two of their sentences (the oracle finds them)."""
    rng = random.Random(seed)
    out = []
    for d in range(count):
        sents = [sentence(rng) for _ in range(sentences)]
        picks = sorted(rng.sample(range(sentences), 2))
        out.append(Example(f"doc{d}", " ".join(sents), "\n".join(sents[i] for i in picks)))
    return out


def tiny_train_config(**overrides: object) -> TrainConfig:
    settings: dict[str, object] = dict(
        model=tiny_config(),
        batch_size=2,
        lr=3e-3,
        warmup_steps=2,
        max_steps=6,
        eval_every=3,
        precision="fp32",
        eval_batch_size=4,
        log_every=1,
    )
    settings.update(overrides)
    return TrainConfig(**settings)  # type: ignore[arg-type]
