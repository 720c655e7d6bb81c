"""Benchmark: BertSumExt serving precisions on CPU, fp32 / int8 / bf16, in one run.

Each precision summarizes the same test.jsonl documents (top 3 with trigram blocking,
16 documents per ``summarize`` call, one torch thread: the serving defaults). The
documents go in chunks and within each chunk every precision runs in turn (order
rotated), so a busy shared machine slows all of them alike. Printed per precision:
ROUGE-1/2/Lsum (``ml.text.rouge``), docs/s and its ratio to fp32, and how many
documents select exactly the sentences fp32 selects. bf16 runs only where the CPU has
native bf16 (``ml.precision.cpu_has_native_bf16``); elsewhere it is reported skipped.

    .venv/bin/python -m bench.serving_precision --checkpoint var/bench/serve-bertsumext/best
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import CHECKPOINT, CHECKPOINT_HELP, DATA, ROOT, checkpoint_dir, log, now
from ml.models.bertsumext.summarizer import Summarizer
from ml.precision import cpu_has_native_bf16
from ml.text.baselines import Lead
from ml.text.data import load_examples
from ml.text.rouge import mean_scores, score_summary

PRECISIONS = ("fp32", "int8", "bf16")


def run(system: Any, texts: list[str], batch: int) -> tuple[list[list[int]], list[list[str]]]:
    selected, sentences = [], []
    for i in range(0, len(texts), batch):
        for summary in system.summarize(texts[i : i + batch], max_sentences=3):
            selected.append([s.index for s in summary.selected])
            sentences.append([s.text for s in summary.selected])
    return selected, sentences


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--checkpoint", type=checkpoint_dir, default=str(CHECKPOINT), help=CHECKPOINT_HELP
    )
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--docs", type=int, default=500, help="test.jsonl documents (all: 500)")
    p.add_argument("--chunk", type=int, default=32, help="documents per interleaved turn")
    p.add_argument("--batch", type=int, default=16, help="documents per summarize call")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "var" / "bench" / "serving-precision.json"))
    return p.parse_args()


def interleaved(systems: dict[str, Any], examples: list, chunk: int, batch: int) -> tuple:
    """Every system on each chunk in turn (order rotated): seconds, selections, sentences."""
    names = list(systems)
    seconds = dict.fromkeys(names, 0.0)
    selected: dict[str, list[list[int]]] = {n: [] for n in names}
    texts: dict[str, list[list[str]]] = {n: [] for n in names}
    for turn, start in enumerate(range(0, len(examples), chunk)):
        part = [e.text for e in examples[start : start + chunk]]
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            began = time.perf_counter()
            sel, sents = run(systems[name], part, batch)
            seconds[name] += time.perf_counter() - began
            selected[name] += sel
            texts[name] += sents
        log(f"{start + len(part)}/{len(examples)} documents")
    return seconds, selected, texts


def rouge(sentences: list[list[str]], examples: list) -> Any:
    return mean_scores(
        [score_summary(s, e.reference) for s, e in zip(sentences, examples, strict=True)]
    )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    examples = load_examples(Path(args.data) / "test.jsonl", limit=args.docs)
    native = cpu_has_native_bf16()
    names = [n for n in PRECISIONS if n != "bf16" or native]
    systems = {n: Summarizer.load(args.checkpoint, "cpu", precision=n) for n in names}
    log(f"{len(examples)} documents; precisions {names}; native bf16: {native}")
    seconds, selected, texts = interleaved(systems, examples, args.chunk, args.batch)
    lead = [[x.text for x in d.selected] for d in Lead(3).summarize([e.text for e in examples])]
    results: dict[str, Any] = {"lead3": rouge(lead, examples).as_dict()}
    for name in names:
        same = sum(a == b for a, b in zip(selected[name], selected["fp32"], strict=True))
        results[name] = {
            **rouge(texts[name], examples).as_dict(),
            "docs_per_s": len(examples) / seconds[name],
            "speed_vs_fp32": seconds["fp32"] / seconds[name],
            "same_selection_as_fp32": f"{same}/{len(examples)}",
        }
    if not native:
        results["bf16"] = "skipped: this CPU has no native bf16 (avx512_bf16 / amx_bf16)"
    for name, r in results.items():
        print(f"{name:6s} {r}")
    out = {"date": now(), "args": vars(args), "native_bf16": native, "results": results}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
