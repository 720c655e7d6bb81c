"""Tiny training runs for service tests: a random 32-wide BERT, toy documents."""

import random

from tests.factories import DocumentFactory
from tests.ml.fixtures.bertsumext import WORDS, tiny_config


def tiny_params(**overrides):
    params = {
        "model": tiny_config(ext_layers=1).to_dict(),
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


def tiny_match_params(**overrides):
    """MatchSum on a random 32-wide BERT (candidates from the active tiny BertSumExt)."""
    from tests.ml.fixtures.encoders import tiny_bert_config

    params = {
        "model": {
            "encoder_config": tiny_bert_config(
                hidden_size=32,
                num_layers=2,
                num_heads=2,
                intermediate_size=64,
                max_position_embeddings=128,
            ),
            "max_doc_tokens": 128,
            "max_candidate_tokens": 64,
        },
        "batch_size": 2,
        "lr": 3e-3,
        "warmup_steps": 2,
        "max_steps": 6,
        "eval_every": 3,
        "precision": "fp32",
        "eval_batch_size": 16,
        "log_every": 1,
    }
    params.update(overrides)
    return params
