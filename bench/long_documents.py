"""Work per job on long documents (issue #15): time and peak memory, one subprocess each.

    .venv/bin/python -m bench.long_documents [--sizes 1000,2000,4000,20000] [--old-max 20000]

Part 1: TextRank before (the dense O(n²) implementation, kept here as it was) and now
(sparse graph over the first 2,000 sentences), plus the sparse graph without that cap,
at each size. Part 2: every model kind at MAX_DOCUMENT_SENTENCES (2,000) sentences:
lead3, textrank, default (the zero-label default), and bertsumext / matchsum with the
default encoder (all-MiniLM-L6-v2) and randomly initialised heads (cost does not depend
on the weights' values).

Each measurement runs in a fresh ``python -m bench.long_documents --one KIND N``
process on one torch thread: seconds of ``summarize([text])`` (sentence splitting
included), the process's RSS before the call, and its peak RSS during it (VmHWM,
reset just before). Documents are CNN/DM test sentences in order, repeated to N
(read from /work/shared/data/cnndm/test.jsonl, never copied), else synthetic text.
Ratios are against the old TextRank measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DATA, log, now

MAX_DOCUMENT_SENTENCES = 2000  # settings.MAX_DOCUMENT_SENTENCES' default


def document(n: int) -> str:
    """``n`` sentences of CNN/DM test articles (in order, repeated), else synthetic."""
    from ml.text.sentences import split_sentences

    path = DATA / "test.jsonl"
    sentences: list[str] = []
    if path.exists():
        with path.open() as lines:
            for line in lines:
                sentences += [s.text for s in split_sentences(json.loads(line)["article"])]
                if len(sentences) >= n:
                    break
    else:
        rng = random.Random(0)
        words = ["the", "a", "of", "to", "in", "council", "river", "market", "school", "vote"]
        sentences = [" ".join(rng.choices(words, k=12)).capitalize() + "." for _ in range(n)]
    return " ".join(sentences[i % len(sentences)] for i in range(n))


class OldTextRank:
    """TextRank as it was before issue #15: dense (n, n) arrays, a Python double loop."""

    name = "textrank-old"

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Any]:
        from ml.text.rouge import tokenize
        from ml.text.selection import top_k
        from ml.text.sentences import split_sentences
        from ml.text.summary import build_summary

        out = []
        for text in texts:
            spans = split_sentences(text)
            words = [set(tokenize(s.text)) for s in spans]
            n = len(words)
            sim = np.zeros((n, n))
            for i in range(n):
                for j in range(i + 1, n):
                    denominator = math.log(len(words[i]) or 1) + math.log(len(words[j]) or 1)
                    if denominator > 0:
                        sim[i, j] = sim[j, i] = len(words[i] & words[j]) / denominator
            scores = list(self._pagerank(sim))
            out.append(build_summary(spans, scores, top_k(scores, max_sentences), self.name))
        return out

    @staticmethod
    def _pagerank(sim: np.ndarray, damping: float = 0.85) -> np.ndarray:
        n = sim.shape[0]
        out_weight = sim.sum(axis=1)
        dangling = out_weight == 0
        transition = np.divide(
            sim, out_weight[:, None], out=np.zeros_like(sim), where=~dangling[:, None]
        )
        rank = np.full(n, 1.0 / n)
        for _ in range(200):
            spread = rank[dangling].sum() / n
            new = (1 - damping) / n + damping * (rank @ transition + spread)
            converged = np.abs(new - rank).sum() < 1e-6
            rank = new
            if converged:
                break
        return rank


def _neural(kind: str, workdir: Path) -> Any:
    """A BertSumExt / MatchSum with the default encoder and random heads, saved and loaded."""
    import torch

    from ml.encoders import load_tokenizer
    from ml.models.bertsumext.checkpoint import save_pretrained
    from ml.models.bertsumext.config import BertSumExtConfig
    from ml.models.bertsumext.model import BertSumExt
    from ml.registry import load_system

    torch.manual_seed(0)
    config = BertSumExtConfig()
    tokenizer = load_tokenizer(config.encoder)
    extractor = save_pretrained(
        BertSumExt.from_pretrained_encoder(config), tokenizer, workdir / "bertsumext"
    )
    if kind == "bertsumext":
        return load_system(extractor)
    from ml.models.matchsum.checkpoint import save_matchsum
    from ml.models.matchsum.config import MatchSumConfig
    from ml.models.matchsum.model import MatchSum

    matchsum = MatchSum.from_pretrained_encoder(MatchSumConfig())
    return load_system(save_matchsum(matchsum, tokenizer, workdir / "matchsum", extractor))


def system(kind: str, workdir: Path) -> Any:
    from ml.text.baselines import Lead, TextRank

    if kind == "textrank-old":
        return OldTextRank()
    if kind == "textrank-uncapped":
        return TextRank(max_graph_sentences=10**9)
    if kind in ("bertsumext", "matchsum"):
        return _neural(kind, workdir)
    if kind == "default":
        from ml.text.zero_label import ZeroLabel

        return ZeroLabel(max_graph_sentences=MAX_DOCUMENT_SENTENCES)
    return {"lead3": Lead(3), "textrank": TextRank()}[kind]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure_one(kind: str, n: int) -> dict[str, Any]:
    """This process: summarize one n-sentence document with ``kind``."""
    import gc

    import torch

    torch.set_num_threads(1)
    text = document(n)
    with tempfile.TemporaryDirectory() as tmp:
        summarizer = system(kind, Path(tmp))
        summarizer.summarize(["A warm-up sentence. And a second one here."])
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _status_kib("VmRSS")
        began = time.perf_counter()
        (summary,) = summarizer.summarize([text])
        seconds = time.perf_counter() - began
        peak = _status_kib("VmHWM")
        gc.collect()
        after = _status_kib("VmRSS")
    return {
        "kind": kind,
        "sentences": len(summary.sentences),
        "seconds": round(seconds, 3),
        "rss_before_mib": round(before / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "peak_minus_before_mib": round((peak - before) / 1024, 1),
    }


def run_one(kind: str, n: int, timeout: float) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.long_documents", "--one", kind, str(n)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "sentences": n, "error": f"over {timeout:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {"kind": kind, "sentences": n, "error": exc.stderr[-500:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    log(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1000,2000,4000,20000")
    parser.add_argument("--old-max", type=int, default=20000, help="largest size for the old")
    parser.add_argument("--uncapped-max", type=int, default=4000)
    parser.add_argument("--models", default="lead3,textrank,default,bertsumext,matchsum")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]))))
        return
    results: dict[str, Any] = {"date": now(), "textrank": [], "models": []}
    for n in [int(s) for s in args.sizes.split(",")]:
        row = {"n": n, "new": run_one("textrank", n, args.timeout)}
        if n <= args.uncapped_max:
            row["uncapped"] = run_one("textrank-uncapped", n, args.timeout)
        if n <= args.old_max:
            row["old"] = old = run_one("textrank-old", n, args.timeout)
            if "seconds" in old:
                row["time_ratio_old_over_new"] = round(old["seconds"] / row["new"]["seconds"], 1)
                row["peak_ratio_old_over_new"] = round(
                    old["peak_minus_before_mib"] / max(row["new"]["peak_minus_before_mib"], 0.1),
                    1,
                )
        results["textrank"].append(row)
    for kind in args.models.split(","):
        results["models"].append(run_one(kind, MAX_DOCUMENT_SENTENCES, args.timeout))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
