"""Is system A better than system B on the same documents? A paired bootstrap over documents.

Each system summarizes every document once; the per-document ROUGE F1 differences
(A - B) are resampled with replacement (``ml.stats.paired_bootstrap``, the one
implementation the promotion gate uses too), and the 95% interval of the mean difference
and the share of resamples where A is not better are reported for ROUGE-1, ROUGE-2
and ROUGE-Lsum. One JSON object on stdout (also written to ``--out``).

    .venv/bin/python -m bench.paired_bootstrap --a var/bench/matchsum/best \\
        --b var/bench/bertsumext/best --data ../shared/data/cnndm/test.jsonl

``--a``/``--b`` take a checkpoint directory (BertSumExt or MatchSum) or a baseline
name (lead3, textrank).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.registry import load_system
from ml.stats import paired_bootstrap_result
from ml.text.baselines import get_baseline
from ml.text.data import iter_batches, load_examples
from ml.text.rouge import score_summary

ROOT = Path(__file__).resolve().parent.parent

METRICS = ("rouge1", "rouge2", "rougeLsum")


def paired_interval(diffs: list[float], resamples: int = 2000, seed: int = 0) -> dict:
    """Mean of the per-document differences (A - B), its 95% bootstrap interval and
    the share of resamples where A is not better (resampling documents)."""
    import numpy as np

    values = np.asarray(diffs, dtype=np.float64)
    n = len(values)
    rng = np.random.default_rng(seed)
    means = np.sort(values[rng.integers(0, n, size=(resamples, n))].mean(axis=1))
    return {
        "mean_difference": float(values.mean()),
        "ci95": [float(means[int(0.025 * resamples)]), float(means[int(0.975 * resamples) - 1])],
        "share_a_not_better": float((means <= 0).mean()),
    }


def per_document(system_name: str, examples: list, max_sentences: int) -> list[dict[str, float]]:
    if system_name in ("lead3", "textrank"):
        system = get_baseline(system_name)
    else:
        system = load_system(system_name, "cpu")
    scores = []
    for batch in iter_batches(examples, 16):
        summaries = system.summarize([e.text for e in batch], max_sentences)
        for example, summary in zip(batch, summaries, strict=True):
            scores.append(score_summary([s.text for s in summary.selected], example.reference))
    return scores


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cnndm" / "test.jsonl"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="also write the JSON here")
    args = p.parse_args()

    examples = load_examples(args.data, limit=args.limit)
    a = per_document(args.a, examples, 3)
    b = per_document(args.b, examples, 3)
    n = len(examples)
    result: dict = {
        "a": args.a,
        "b": args.b,
        "data": args.data,
        "n": n,
        "resamples": args.resamples,
    }
    for metric in METRICS:
        a_scores = [x[metric] for x in a]
        b_scores = [y[metric] for y in b]
        compared = paired_bootstrap_result(a_scores, b_scores, args.resamples, args.seed)
        result[metric] = {
            "a": sum(a_scores) / n,
            "b": sum(b_scores) / n,
            "mean_difference": compared.mean_difference,
            "ci95": [compared.low, compared.high],
            "share_a_not_better": compared.share_a_not_better,
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
