"""ROUGE of several systems on several evaluation sets, each against Lead-3 (issue #23).

    .venv/bin/python -m bench.domains --data ../shared/data/cnndm/test.jsonl \\
        ../shared/data/domains/en_dialogsum_test.jsonl --system lead3 textrank default \\
        /work/ckpt/bertsumext-cnn/best --limit 300

For each set (any JSON Lines file of ``{"article"|"text", "highlights"|"reference_summary"}``)
and each system: mean ROUGE-1/2/Lsum F1 x 100 of its ``--max-sentences`` selected
sentences, with the paired bootstrap 95% interval of its difference to Lead-3
(resampling documents), and the same **at equal length**: per document, both
summaries of a comparison are cut to the word count of the shorter one, so a gain
that is only longer sentences does not show there. Sets with human sentence labels
(``sentences`` + ``extractive``) also get the label precision: the share of selected
sentences that overlap a human-chosen sentence most.

Every system reads the same documents: each is cut to its first
``--max-document-sentences`` sentences (the service's splitter) before any system sees
it, and the report says how many were cut. Seconds per document (summarize only,
sentence splitting included) are reported for each system.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.paired_bootstrap import METRICS, paired_interval
from ml.cli.arguments import UsageError
from ml.text.data import Example, example_from_record, iter_batches
from ml.text.rouge import score_summary
from ml.text.sentences import Span, split_sentences

BASELINE = "lead3"


@dataclass
class Document:
    example: Example
    capped_from: int | None = None  # the sentence count before the cap, if it was cut
    human_sentences: list[str] | None = None
    human_selected: set[int] = field(default_factory=set)


def cap_text(text: str, max_sentences: int) -> tuple[str, int | None]:
    """``text`` up to the end of its ``max_sentences``-th sentence, and the original
    sentence count when it was longer (else None)."""
    spans = split_sentences(text)
    if len(spans) <= max_sentences:
        return text, None
    return text[: spans[max_sentences - 1].end], len(spans)


def read_set(path: Path, limit: int | None, max_document_sentences: int) -> list[Document]:
    """The first ``limit`` records of a JSON Lines file, capped, with human labels if any."""
    documents: list[Document] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if limit is not None and len(documents) >= limit:
                break
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: invalid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where}: expected a JSON object")
            example = example_from_record(record, where)
            if not example.reference.strip():
                raise ValueError(f"{where}: no reference summary")
            example.text, capped_from = cap_text(example.text, max_document_sentences)
            document = Document(example, capped_from)
            sentences, chosen = record.get("sentences"), record.get("extractive")
            if isinstance(sentences, list) and isinstance(chosen, list):
                document.human_sentences = [str(s) for s in sentences]
                document.human_selected = {int(i) for i in chosen}
            documents.append(document)
    if not documents:
        raise ValueError(f"{path}: no examples")
    return documents


def load_system(spec: str, device: str) -> tuple[Any, str]:
    """What ``python -m ml evaluate --system`` loads for `spec`; a checkpoint directory
    is named by its last two path parts here (runs' checkpoints are all "best")."""
    from ml.cli.evaluate import load_system_spec

    system, name = load_system_spec(spec, device)
    path = Path(spec)
    checkpoint = name != spec and path.is_dir()  # a baseline is named by its spec
    return system, f"{path.parent.name}/{path.name}" if checkpoint else name


def _human_offsets(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Where each human sentence lies in ``text`` (searched in order; (-1, -1) if absent)."""
    offsets, cursor = [], 0
    for sentence in sentences:
        start = text.find(sentence.strip(), cursor)
        if start < 0:
            offsets.append((-1, -1))
            continue
        end = start + len(sentence.strip())
        offsets.append((start, end))
        cursor = end
    return offsets


def label_precision(document: Document, selected: list[Span]) -> float | None:
    """Share of selected sentences whose most-overlapping human sentence was human-chosen."""
    if document.human_sentences is None or not selected:
        return None
    offsets = _human_offsets(document.example.text, document.human_sentences)
    hits = 0
    for span in selected:
        overlaps = [max(0, min(span.end, e) - max(span.start, s)) for s, e in offsets]
        best = int(np.argmax(overlaps)) if overlaps else -1
        hits += best >= 0 and overlaps[best] > 0 and best in document.human_selected
    return hits / len(selected)


def run_system(
    system: Any, documents: list[Document], max_sentences: int
) -> tuple[list[list[Span]], float]:
    """Each document's selected sentences (as spans) and the seconds per document."""
    selections: list[list[Span]] = []
    system.summarize(["A first call loads what the system imports. It is not timed."], 1)
    started = time.perf_counter()
    for batch in iter_batches(documents, 16):
        for summary in system.summarize([d.example.text for d in batch], max_sentences):
            selections.append([Span(s.start, s.end, s.text) for s in summary.selected])
    return selections, (time.perf_counter() - started) / len(documents)


def cut_to_words(sentences: list[str], words: int) -> list[str]:
    """The first ``words`` whitespace words of the summary, sentence breaks kept."""
    kept: list[str] = []
    for sentence in sentences:
        tokens = sentence.split()
        if words <= 0:
            break
        kept.append(" ".join(tokens[:words]))
        words -= len(tokens)
    return kept


def word_count(sentences: list[str]) -> int:
    return sum(len(s.split()) for s in sentences)


def compare(
    system: list[list[str]],
    baseline: list[list[str]],
    references: list[str],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """Scores of ``system`` and of the baseline, as is and at equal length, with intervals."""
    result: dict[str, Any] = {}
    for mode in ("as_is", "equal_length"):
        a_rows, b_rows = [], []
        for a, b, reference in zip(system, baseline, references, strict=True):
            if mode == "equal_length":
                words = min(word_count(a), word_count(b))
                a, b = cut_to_words(a, words), cut_to_words(b, words)
            a_rows.append(score_summary(a, reference))
            b_rows.append(score_summary(b, reference))
        result[mode] = {
            metric: {
                "system": float(np.mean([r[metric] for r in a_rows])),
                "lead3": float(np.mean([r[metric] for r in b_rows])),
                **paired_interval(
                    [x[metric] - y[metric] for x, y in zip(a_rows, b_rows, strict=True)],
                    resamples,
                    seed,
                ),
            }
            for metric in METRICS
        }
    result["words"] = float(np.mean([word_count(s) for s in system]))
    return result


def evaluate_set(
    path: Path, systems: list[tuple[Any, str]], args: argparse.Namespace
) -> dict[str, Any]:
    documents = read_set(path, args.limit, args.max_document_sentences)
    references = [d.example.reference for d in documents]
    outputs: dict[str, list[list[Span]]] = {}
    seconds: dict[str, float] = {}
    for system, name in systems:
        outputs[name], seconds[name] = run_system(system, documents, args.max_sentences)
    texts = {name: [[s.text for s in spans] for spans in out] for name, out in outputs.items()}
    report: dict[str, Any] = {
        "data": str(path),
        "n": len(documents),
        "capped": sum(d.capped_from is not None for d in documents),
        "max_document_sentences": args.max_document_sentences,
        "systems": {},
    }
    has_labels = any(d.human_sentences is not None for d in documents)
    for name in outputs:
        row: dict[str, Any] = compare(
            texts[name], texts[BASELINE], references, args.resamples, args.seed
        )
        row["seconds_per_document"] = seconds[name]
        if has_labels:
            precisions = [
                p
                for d, spans in zip(documents, outputs[name], strict=True)
                if (p := label_precision(d, spans)) is not None
            ]
            row["label_precision"] = float(np.mean(precisions)) if precisions else None
        report["systems"][name] = row
    return report


def print_report(report: dict[str, Any]) -> None:
    capped = report["capped"]
    print(
        f"\n{report['data']}: n={report['n']}; {capped} document(s) cut to their first "
        f"{report['max_document_sentences']} sentences for every system"
    )
    print(
        f"{'system':<28} {'R1':>6} {'R2':>6} {'RLsum':>6}  {'R1 - lead3 [95% CI]':<24} "
        f"{'equal length: R1 vs lead3, diff [95% CI]':<44} {'words':>6} {'s/doc':>7} label"
    )
    for name, row in report["systems"].items():
        as_is, equal = row["as_is"], row["equal_length"]
        r1 = as_is["rouge1"]
        ci = "{:+.2f} [{:+.2f}, {:+.2f}]".format(r1["mean_difference"], *r1["ci95"])
        e1 = equal["rouge1"]
        eq = "{:.2f} vs {:.2f}, {:+.2f} [{:+.2f}, {:+.2f}]".format(
            e1["system"], e1["lead3"], e1["mean_difference"], *e1["ci95"]
        )
        label = row.get("label_precision")
        print(
            f"{name:<28} {r1['system']:6.2f} {as_is['rouge2']['system']:6.2f} "
            f"{as_is['rougeLsum']['system']:6.2f}  {ci:<24} {eq:<44} {row['words']:6.1f} "
            f"{row['seconds_per_document']:7.4f} {'' if label is None else f'{label:.3f}'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", required=True, help="JSON Lines files")
    parser.add_argument(
        "--system",
        nargs="+",
        default=["lead3", "textrank", "default"],
        help="lead3, textrank, default, leadK or checkpoint directories (lead3 is always added)",
    )
    parser.add_argument("--limit", type=int, default=300, help="first N documents of each set")
    parser.add_argument("--max-document-sentences", type=int, default=200)
    parser.add_argument("--max-sentences", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None, help="also write every figure as JSON here")
    args = parser.parse_args(argv)
    for name in ("limit", "max_document_sentences", "max_sentences", "resamples"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    specs = [BASELINE] + [s for s in args.system if s != BASELINE]
    try:
        systems = [load_system(spec, args.device) for spec in specs]
        reports = []
        for path in args.data:
            report = evaluate_set(Path(path), systems, args)
            print_report(report)
            reports.append(report)
    except (OSError, ValueError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "sets": reports}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
