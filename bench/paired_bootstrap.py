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
    rng = random.Random(args.seed)
    result: dict = {
        "a": args.a,
        "b": args.b,
        "data": args.data,
        "n": n,
        "resamples": args.resamples,
    }
    for metric in METRICS:
        diffs = [x[metric] - y[metric] for x, y in zip(a, b, strict=True)]
        means = sorted(
            sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(args.resamples)
        )
        result[metric] = {
            "a": sum(x[metric] for x in a) / n,
            "b": sum(y[metric] for y in b) / n,
            "mean_difference": sum(diffs) / n,
            "ci95": [means[int(0.025 * len(means))], means[int(0.975 * len(means)) - 1]],
            "share_a_not_better": sum(m <= 0 for m in means) / len(means),
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
