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


def per_document(mean, n=32, spread=2.0, pattern=2):
    """n per-document scores with exactly this mean: +/- spread in runs of `pattern`
    (n a multiple of 2 * pattern). Two lists with different patterns give paired
    differences that vary, so the bootstrap interval has a width."""
    return [mean + spread * (1 if (i // pattern) % 2 == 0 else -1) for i in range(n)]


def measured_version(
    checkpoint_dir,
    *,
    candidate,
    lead3,
    fallback=None,
    active=None,
    active_version=None,
    kind="bertsumext",
    fallback_kind="default",
):
    """A candidate version as a finished run leaves it: its metrics and the per-document
    validation scores of the model, Lead-3, the fallback kind (None: a run made before
    it was measured) and (when one served) the active version on the same documents
    (jobs.workers.train._metrics)."""
    from jobs.models import JobStatus, ModelVersion, TrainingRun

    def mean(values):
        return sum(values) / len(values)

    scores = {"documents": list(range(1, len(candidate) + 1)), "candidate": candidate}
    metrics = {"val_rouge": mean(candidate)}
    if lead3 is not None:
        scores["lead3"] = lead3
        metrics.update({f"lead3_{k}": mean(lead3) for k in ("rouge1", "rouge2", "rougeLsum")})
    if fallback is not None:
        scores.update(fallback=fallback, fallback_kind=fallback_kind)
        metrics.update({f"fallback_{k}": mean(fallback) for k in ("rouge1", "rouge2", "rougeLsum")})
        metrics["fallback_kind"] = fallback_kind
    if active is not None:
        scores.update(active=active, active_version=active_version)
        metrics.update(active_val_rouge=mean(active), active_version=active_version)
    from jobs.services.versions import compare_scores

    scores["compared"] = compare_scores(scores)
    run = TrainingRun.objects.create(
        kind=kind, status=JobStatus.SUCCEEDED, metrics=metrics, validation_scores=scores
    )
    return ModelVersion.objects.create(
        kind=kind, run=run, checkpoint_dir=str(checkpoint_dir), metrics=metrics
    )
