"""Sentence splitting (issue #23): agreement with the sources' own sentence lists.

    .venv/bin/python -m bench.splitter_agreement [--data FILE.jsonl ...] [--old-rev REV] [--limit N]

For every document of a JSON Lines set that carries ``sentences`` (the source's own
sentence list; see /work/shared/data/domains/README.md), the gold boundaries are the
end offsets of those sentences in the text (the last one, the end of the text, is not
counted). Each splitter's boundaries are the ends of its spans. Printed per set and
splitter: n documents, exact-boundary precision / recall / F1 (micro, over all
boundaries) and the seconds spent splitting.

Two texts per document: ``article`` as the set stores it, and the gold sentences
joined by one space (no line breaks to help: the harder view for sets whose
``article`` puts one sentence per line).

"old" is ``ml/text/sentences.py`` at ``--old-rev`` (read with ``git show``; the
default is the commit before issue #23's splitter), "new" is the working tree's.
Data is read from /work/shared/data, never copied.

Last, the cost of one MAX_DOCUMENT_SENTENCES (2,000) sentence document per language:
the development sets' own sentences in order, repeated (English: scitldr; Korean:
ko_scinews50 with a final period restored), seconds of one call, after the models
are loaded.

``--candidates`` adds the English splitters that were weighed against Punkt, when
importable (they are not project dependencies; install them aside, e.g.
``pip install --target /tmp/cands pysbd==0.3.4 sentencex==1.0.32 syntok==1.4.4``
and run with ``PYTHONPATH=/tmp/cands``): their sentences are located in the text
to get offsets. They run on English sets only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, log, now

DOMAINS = ROOT.parent / "shared" / "data" / "domains"
DEFAULT_SETS = [
    DOMAINS / "en_scitldr_a_test.jsonl",
    DOMAINS / "ko_scinews50_it_science_news.jsonl",
]
OLD_REV = "05bc32b"  # the last commit with the Punkt + hand-written Korean rules splitter

Splitter = Callable[[str], list[Any]]


def old_splitter(rev: str) -> Splitter:
    source = subprocess.run(
        ["git", "show", f"{rev}:ml/text/sentences.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("old_sentences")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:ml/text/sentences.py", "exec"), module.__dict__)
    return module.split_sentences


class _Found:
    def __init__(self, end: int) -> None:
        self.end = end


def _located(sentences: Sequence[str], text: str) -> list[_Found]:
    spans = []
    cursor = 0
    for sentence in sentences:
        sentence = sentence.strip()
        found = text.find(sentence, cursor) if sentence else -1
        if found >= 0:
            cursor = found + len(sentence)
            spans.append(_Found(cursor))
    return spans


def candidate_splitters() -> dict[str, Splitter]:
    """pysbd, sentencex and syntok (English), those that import."""
    found: dict[str, Splitter] = {}
    try:
        import pysbd

        segmenter = pysbd.Segmenter(language="en", clean=False)
        found["pysbd 0.3.4"] = lambda text: _located(segmenter.segment(text), text)
    except ImportError:
        log("pysbd not importable: skipped")
    try:
        import sentencex

        found["sentencex"] = lambda text: _located(list(sentencex.segment("en", text)), text)
    except ImportError:
        log("sentencex not importable: skipped")
    try:
        from syntok import segmenter as syntok_segmenter

        def syntok_split(text: str) -> list[_Found]:
            return [
                _Found(sentence[-1].offset + len(sentence[-1].value))
                for paragraph in syntok_segmenter.analyze(text)
                for sentence in paragraph
            ]

        found["syntok"] = syntok_split
    except ImportError:
        log("syntok not importable: skipped")
    return found


def gold_boundaries(text: str, sentences: Sequence[str]) -> set[int] | None:
    """End offsets of ``sentences`` found in order in ``text``; None if one is missing."""
    ends: set[int] = set()
    cursor = 0
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        found = text.find(sentence, cursor)
        if found < 0:
            return None
        cursor = found + len(sentence)
        ends.add(cursor)
    return ends


def score(
    documents: list[tuple[str, set[int]]], split: Splitter
) -> tuple[float, float, float, float]:
    true_pos = false_pos = false_neg = 0
    started = time.perf_counter()
    for text, gold in documents:
        predicted = {span.end for span in split(text)}
        end = len(text.rstrip())
        predicted.discard(end)
        gold = gold - {end}
        true_pos += len(predicted & gold)
        false_pos += len(predicted - gold)
        false_neg += len(gold - predicted)
    seconds = time.perf_counter() - started
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, seconds


def load(path: Path, limit: int | None) -> tuple[dict[str, list[tuple[str, set[int]]]], int]:
    views: dict[str, list[tuple[str, set[int]]]] = {"article": [], "joined": []}
    skipped = 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if limit is not None and number >= limit:
                break
            row = json.loads(line)
            sentences = [s for s in row["sentences"] if s.strip()]
            gold = gold_boundaries(row["article"], sentences)
            if gold is None:
                skipped += 1
            else:
                views["article"].append((row["article"], gold))
            joined = " ".join(s.strip() for s in sentences)
            joined_gold = gold_boundaries(joined, sentences)
            assert joined_gold is not None
            views["joined"].append((joined, joined_gold))
    return views, skipped


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--limit", type=int, default=None, help="first N documents per set")
    parser.add_argument("--candidates", action="store_true", help="add pysbd, sentencex, syntok")
    args = parser.parse_args(argv)

    from ml.text.sentences import SPLITTER_VERSION, split_sentences

    splitters: dict[str, Splitter] = {
        "old": old_splitter(args.old_rev),
        f"new (v{SPLITTER_VERSION})": split_sentences,
    }
    candidates = candidate_splitters() if args.candidates else {}
    for splitter in splitters.values():  # load models outside the timings
        splitter("Warm up. 준비한다.")
        splitter("준비한다. 시작.")
    log(f"sentence splitting agreement, {now()}")
    print("| set | text | n docs | splitter | P | R | F1 | s |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for path in args.data:
        views, skipped = load(path, args.limit)
        for view, documents in views.items():
            english = path.stem.startswith("en_")
            for name, splitter in (splitters | candidates if english else splitters).items():
                precision, recall, f1, seconds = score(documents, splitter)
                print(
                    f"| {path.stem} | {view} | {len(documents)} | {name} | {precision:.3f} | "
                    f"{recall:.3f} | {f1:.3f} | {seconds:.1f} |",
                    flush=True,
                )
        if skipped:
            print(f"({path.stem}: {skipped} documents whose sentences are not found in `article`)")
    if {p.resolve() for p in args.data} >= {p.resolve() for p in DEFAULT_SETS}:
        long_document_cost(splitters)


MAX_DOCUMENT_SENTENCES = 2000  # settings.MAX_DOCUMENT_SENTENCES' default


def long_document(path: Path, final: str) -> str:
    sentences: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            sentences += [s.strip() + final for s in json.loads(line)["sentences"] if s.strip()]
            if len(sentences) >= MAX_DOCUMENT_SENTENCES:
                break
    while len(sentences) < MAX_DOCUMENT_SENTENCES:
        sentences += sentences
    return " ".join(sentences[:MAX_DOCUMENT_SENTENCES])


def long_document_cost(splitters: dict[str, Splitter]) -> None:
    print("\n| document | chars | splitter | sentences found | s |\n|---|---:|---|---:|---:|")
    texts = {
        "en, 2,000 sentences": long_document(DOMAINS / "en_scitldr_a_test.jsonl", ""),
        "ko, 2,000 sentences": long_document(DOMAINS / "ko_scinews50_it_science_news.jsonl", "."),
    }
    for label, text in texts.items():
        for name, splitter in splitters.items():
            started = time.perf_counter()
            found = len(splitter(text))
            seconds = time.perf_counter() - started
            print(f"| {label} | {len(text):,} | {name} | {found:,} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
