"""How much of a ROUGE gap is content, how much is summary length? Equal tuning for both.

CNN highlights are about 34 words; three lead sentences are about 67, so ROUGE F1
rewards shorter output and a system that happens to pick shorter sentences gains
without choosing better ones. This script gives a BertSumExt checkpoint and the lead
baseline the *same* menu of selection rules (top-k sentences, or a word budget),
picks each system's best rule on validation.jsonl, and reports both on test.jsonl
with the mean summary length, so a gain can be read at equal tuning.

    .venv/bin/python -m bench.selection_rules --system var/bench/bertsumext/best

Several ``--system`` checkpoints are an ensemble: their sentence probabilities are
averaged. Each model scores each document once (cached in ``--out``); every rule
reuses the scores.
Lead uses the same sentences with scores falling by position and no trigram blocking.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.models.bertsumext.summarizer import Summarizer
from ml.text.data import Example, load_examples
from ml.text.rouge import mean_scores, score_summary
from ml.text.selection import select_sentences

ROOT = Path(__file__).resolve().parent.parent

RULES: list[tuple[str, dict]] = [(f"top-{k}", {"max_sentences": k}) for k in (1, 2, 3, 4)] + [
    (f"<= {b} words", {"max_sentences": None, "word_budget": b}) for b in range(30, 100, 10)
]

Scored = list[tuple[list[str], list[float | None]]]  # per document: sentences, scores


def score_documents(
    system: Summarizer, examples: list[Example], cache: Path, checkpoint: str
) -> Scored:
    # Reused only for the same checkpoint and documents: a stale cache would score another model.
    key = {"checkpoint": str(Path(checkpoint).resolve()), "ids": [e.id for e in examples]}
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return [(d["sentences"], d["scores"]) for d in saved["documents"]]
    texts = [e.text for e in examples]
    out: Scored = []
    for start in range(0, len(texts), 32):
        batch = texts[start : start + 32]
        for text, (doc, probs) in zip(batch, system.score(batch), strict=True):
            out.append(([text[s:e] for s, e in doc.spans], list(probs)))
        print(f"scored {len(out)}/{len(texts)}", file=sys.stderr, flush=True)
    documents = [{"sentences": s, "scores": p} for s, p in out]
    cache.write_text(json.dumps({"key": key, "documents": documents}))
    return out


def average(runs: list[Scored]) -> Scored:
    """Mean probability per sentence over models (all split documents the same way)."""
    out: Scored = []
    for docs in zip(*runs, strict=True):
        sents = docs[0][0]
        assert all(d[0] == sents for d in docs), "the models split a document differently"
        scores = [
            None if any(d[1][i] is None for d in docs) else sum(d[1][i] for d in docs) / len(docs)
            for i in range(len(sents))
        ]
        out.append((sents, scores))
    return out


def lead_scores(scored: Scored) -> Scored:
    return [(sents, [1.0 / (1 + i) for i in range(len(sents))]) for sents, _ in scored]


def apply_rule(scored: Scored, examples: list[Example], rule: dict, block: bool) -> dict:
    rows, words = [], []
    for (sents, scores), example in zip(scored, examples, strict=True):
        chosen = select_sentences(sents, scores, block_trigrams=block, **rule) if sents else []
        picked = [sents[i] for i in chosen]
        rows.append(score_summary(picked, example.reference))
        words.append(sum(len(s.split()) for s in picked))
    return mean_scores(rows).as_dict() | {"words": sum(words) / len(words)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--system",
        required=True,
        action="append",
        help="a BertSumExt checkpoint directory; repeat for an ensemble",
    )
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cnndm"))
    p.add_argument("--val-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None, help="dry runs only")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="default: SYSTEM/../selection_rules")
    args = p.parse_args()

    out = Path(args.out or Path(args.system[0]).parent / "selection_rules")
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    splits = {
        "validation": load_examples(data / "validation.jsonl", limit=args.val_limit),
        "test": load_examples(data / "test.jsonl", limit=args.test_limit),
    }
    runs: dict[str, list[Scored]] = {name: [] for name in splits}
    for i, checkpoint in enumerate(args.system):
        model = Summarizer.load(checkpoint, args.device, 16, "auto", "windows")
        for name, ex in splits.items():
            cache = out / (f"{name}.json" if i == 0 else f"{name}-{i}.json")
            runs[name].append(score_documents(model, ex, cache, checkpoint))
    scored = {name: average(r) for name, r in runs.items()}

    result: dict = {"system": args.system, "n": {k: len(v) for k, v in splits.items()}}
    for system, block in (("bertsumext", True), ("lead", False)):
        per_split = {
            name: scored[name] if system == "bertsumext" else lead_scores(scored[name])
            for name in splits
        }
        val = {
            label: apply_rule(per_split["validation"], splits["validation"], rule, block)
            for label, rule in RULES
        }
        best = max(val, key=lambda label: val[label]["rouge1"] + val[label]["rouge2"])
        rule = dict(RULES)[best]
        result[system] = {
            "validation": val,
            "best_rule_on_validation": best,
            "test_with_best_rule": apply_rule(per_split["test"], splits["test"], rule, block),
            "test_top3": apply_rule(per_split["test"], splits["test"], {"max_sentences": 3}, block),
        }
        print(f"{system}: best on validation {best}: {result[system]['test_with_best_rule']}")
    (out / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k in ("bertsumext", "lead")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
