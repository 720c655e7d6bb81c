"""Is system A better than system B on the same documents? A paired bootstrap over documents.

Each system summarizes every document once; the per-document ROUGE F1 differences
(A - B) are resampled with replacement, and the 95% interval of the mean difference
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
import random
from pathlib import Path
from typing import Any

from ml.registry import load_system
from ml.text.baselines import get_baseline
from ml.text.data import iter_batches, load_examples
from ml.text.rouge import score_summary

ROOT = Path(__file__).resolve().parent.parent

METRICS = ("rouge1", "rouge2", "rougeLsum")


def per_document(system_name: str, examples: list, max_sentences: int) -> list[dict[str, float]]:
    if system_name in ("lead3", "textrank"):
        system = get_baseline(system_name)
    else:
        system = load_system(system_name, "cpu")
    return document_scores(system, examples, max_sentences)


def document_scores(system: Any, examples: list, max_sentences: int) -> list[dict[str, float]]:
    """Each document's ROUGE F1 (x 100) of `system`'s summary, in the order of `examples`."""
    scores = []
    for batch in iter_batches(examples, 16):
        summaries = system.summarize([e.text for e in batch], max_sentences)
        for example, summary in zip(batch, summaries, strict=True):
            scores.append(score_summary([s.text for s in summary.selected], example.reference))
    return scores


def compare(
    a: list[dict[str, float]],
    b: list[dict[str, float]],
    resamples: int = 2000,
    seed: int = 0,
    metrics: tuple[str, ...] = METRICS,
) -> dict[str, dict]:
    """Per metric: both means, the mean difference A - B, its 95% interval and the share
    of resamples where A is not better, from the per-document scores of the same documents."""
    n = len(a)
    if n == 0 or len(b) != n:
        raise ValueError(f"paired scores of the same documents needed, got {n} and {len(b)}")
    rng = random.Random(seed)
    result: dict[str, dict] = {}
    for metric in metrics:
        diffs = [x[metric] - y[metric] for x, y in zip(a, b, strict=True)]
        means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
        result[metric] = {
            "a": sum(x[metric] for x in a) / n,
            "b": sum(y[metric] for y in b) / n,
            "mean_difference": sum(diffs) / n,
            "ci95": [means[int(0.025 * len(means))], means[int(0.975 * len(means)) - 1]],
            "share_a_not_better": sum(m <= 0 for m in means) / len(means),
        }
    return result


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
    result: dict = {
        "a": args.a,
        "b": args.b,
        "data": args.data,
        "n": len(examples),
        "resamples": args.resamples,
        **compare(a, b, args.resamples, args.seed),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
