"""Tiny training runs for service tests: a random 32-wide BERT, toy documents."""

import random

from ml.encoders import tiny_bert_config
from tests.factories import DocumentFactory

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
]


def tiny_params(**overrides):
    params = {
        "model": {
            "encoder_config": tiny_bert_config(
                hidden_size=32,
                num_layers=2,
                num_heads=2,
                intermediate_size=64,
                max_position_embeddings=128,
            ),
            "max_pos": 128,
            "ext_layers": 1,
            "ext_heads": 2,
            "ext_ff_size": 64,
        },
        "batch_size": 2,
        "lr": 3e-3,
        "warmup_steps": 2,
        "max_steps": 6,
        "eval_every": 3,
        "precision": "fp32",
        "eval_batch_size": 4,
        "log_every": 1,
    }
    params.update(overrides)
    return params


def make_corpus(owner, train=6, val=3, sentences=6, seed=0):
    """Documents whose reference is their first two sentences (a lead-biased corpus)."""
    rng = random.Random(seed)
    docs = []
    for split, count in (("train", train), ("validation", val)):
        for _ in range(count):
            sents = [
                " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + "."
                for _ in range(sentences)
            ]
            docs.append(
                DocumentFactory(
                    owner=owner,
                    split=split,
                    text=" ".join(sents),
                    reference_summary="\n".join(sents[:2]),
                )
            )
    return docs
