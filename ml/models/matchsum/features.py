"""MatchSum data: BertSumExt pruning -> candidate summaries -> ROUGE ranking -> token ids.

The extractor (a trained ``ml.models.bertsumext.summarizer.Summarizer``) scores every sentence; the
``candidate_k`` best become the pruned document and every combination of each of
``candidate_sizes`` of them, in document order, is a candidate (the paper's CNN/DM
setting: C(5,2) + C(5,3) = 20). For training, candidates are sorted by
``ml.text.rouge.candidate_rouge`` (mean of ROUGE-1/2/Lsum F1) against the reference, best
first, which is the order :meth:`ml.models.matchsum.model.MatchSum.loss` expects.

Running the extractor and ROUGE over a training set is the slow part, so
:func:`cached_documents` stores the result as JSON keyed by the data, the
extractor's weights (sha256) and the candidate settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import PreTrainedTokenizerBase

from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.model import MatchBatch
from ml.text.cache import cached_json, examples_key

if TYPE_CHECKING:
    from ml.models.bertsumext.summarizer import Summarizer

CANDIDATES_VERSION = 1  # bump when the cached layout or the algorithm changes
CUT_PRUNED = "pruned"  # a sentence outside the extractor's top-k: never in a candidate


def candidate_indices(
    scores: Sequence[float | None],
    k: int = 5,
    sizes: Sequence[int] = (2, 3),
    max_sentences: int | None = None,
) -> list[tuple[int, ...]]:
    """Candidate summaries as sorted sentence indices.

    The ``k`` best-scored sentences (ties: the earlier one; ``None`` = not scored,
    never used) are kept; each size in ``sizes`` is capped at the number kept and at
    ``max_sentences``, and every combination of every (distinct) capped size is a
    candidate, smaller sizes first, combinations in lexicographic order. So a
    document with 2 scored sentences and sizes (2, 3) has the one candidate (0, 1),
    and a 1-sentence document has that sentence.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if max_sentences is not None and max_sentences < 1:
        raise ValueError("max_sentences must be >= 1")
    ranked = sorted(
        (i for i, s in enumerate(scores) if s is not None), key=lambda i: (-(scores[i] or 0.0), i)
    )
    pruned = sorted(ranked[:k])
    if not pruned:
        return []
    cap = len(pruned) if max_sentences is None else min(len(pruned), max_sentences)
    capped = sorted({min(int(s), cap) for s in sizes if int(s) >= 1})
    return [c for size in capped for c in combinations(pruned, size)]


@dataclass
class MatchDocument:
    """One document after the extractor: sentences, their scores and ranked candidates."""

    id: str
    spans: list[tuple[int, int]]  # (start, end) character offsets of every sentence
    sentence_scores: list[float | None]  # extractor probability; None = not scored
    cuts: dict[int, str]  # sentence index -> why the extractor did not score it
    candidates: list[list[int]]  # sentence indices; best ROUGE first when ``rouge`` is set
    rouge: list[float] | None  # candidate_rouge of each candidate against ``target``
    labels: list[int] | None  # greedy-oracle labels with the staff overrides applied
    target: str  # the summary the candidates were ranked against ("" when none)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cuts"] = {str(k): v for k, v in self.cuts.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchDocument:
        data = dict(data)
        data["spans"] = [tuple(s) for s in data["spans"]]
        data["cuts"] = {int(k): v for k, v in data["cuts"].items()}
        return cls(**data)


def ranking_target(example: Any, sentences: Sequence[str]) -> str:
    """The reference summary; without one, the sentences staff labelled 1 (else "")."""
    reference = (getattr(example, "reference", "") or "").strip()
    if reference:
        return reference
    overrides = getattr(example, "labels", None) or {}
    chosen = [int(i) for i, v in overrides.items() if v and 0 <= int(i) < len(sentences)]
    return "\n".join(sentences[i] for i in sorted(chosen))


def build_documents(
    examples: Sequence[Any],
    extractor: Summarizer,
    config: MatchSumConfig,
    max_sentences: int | None = None,
    rank: bool = True,
    chunk: int = 64,
    on_documents: Callable[[int, int], None] | None = None,
) -> list[MatchDocument]:
    """Score ``ml.text.data.Example``-like objects with the extractor and build their candidates.

    With ``rank`` the candidates of documents that have a target are sorted by ROUGE
    against it (stable: ties keep the generation order). ``on_documents(done, total)``
    reports progress after every ``chunk`` documents.
    """
    from ml.models.bertsumext.features import oracle_labels
    from ml.text.rouge import candidate_rouge

    out: list[MatchDocument] = []
    for start in range(0, len(examples), chunk):
        part = examples[start : start + chunk]
        for ex, (feats, probs) in zip(part, extractor.score([e.text for e in part]), strict=True):
            sents = [ex.text[s:e] for s, e in feats.spans]
            cands = [
                list(c)
                for c in candidate_indices(
                    probs, config.candidate_k, config.candidate_sizes, max_sentences
                )
            ]
            target = ranking_target(ex, sents)
            rouge = None
            if rank and target and cands:
                values = [candidate_rouge([sents[i] for i in c], target) for c in cands]
                order = sorted(range(len(cands)), key=lambda j: -values[j])
                cands = [cands[j] for j in order]
                rouge = [values[j] for j in order]
            labels = oracle_labels(
                sents,
                getattr(ex, "reference", "") or "",
                getattr(ex, "labels", None),
                config.oracle_sentences,
            )
            out.append(
                MatchDocument(
                    id=ex.id,
                    spans=list(feats.spans),
                    sentence_scores=list(probs),
                    cuts={c.index: c.reason for c in feats.cuts},
                    candidates=cands,
                    rouge=rouge,
                    labels=labels,
                    target=target,
                )
            )
        if on_documents is not None:
            on_documents(len(out), len(examples))
    return out


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def extractor_fingerprint(directory: str | Path) -> str:
    """sha256 of a BertSumExt checkpoint's config and weights (what candidates depend on)."""
    from ml.checkpoints import CONFIG_NAME, WEIGHTS_NAME

    directory = Path(directory)
    h = hashlib.sha256()
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        h.update(file_sha256(directory / name).encode())
    return h.hexdigest()


def documents_key(
    examples: Sequence[Any],
    extractor_sha: str,
    config: MatchSumConfig,
    max_sentences: int | None,
    rank: bool,
) -> str:
    settings = {
        "candidate_k": config.candidate_k,
        "candidate_sizes": config.candidate_sizes,
        "oracle_sentences": config.oracle_sentences,
        "max_sentences": max_sentences,
        "rank": rank,
    }
    return examples_key([CANDIDATES_VERSION, extractor_sha, settings], examples)


def cached_documents(
    examples: Sequence[Any],
    extractor: Summarizer,
    extractor_sha: str,
    config: MatchSumConfig,
    cache_dir: str | Path | None,
    max_sentences: int | None = None,
    rank: bool = True,
    on_documents: Callable[[int, int], None] | None = None,
) -> list[MatchDocument]:
    """:func:`build_documents` with a JSON cache keyed by :func:`documents_key`."""
    path = None
    if cache_dir is not None:
        key = documents_key(examples, extractor_sha, config, max_sentences, rank)
        path = Path(cache_dir) / f"matchsum-candidates-{key}.json"
    return cached_json(
        path,
        lambda: build_documents(
            examples, extractor, config, max_sentences, rank, on_documents=on_documents
        ),
        MatchDocument.from_json,
    )


# --- token ids ----------------------------------------------------------------------------


@dataclass
class MatchFeatures:
    """Token ids of one document, its candidates (in MatchDocument order) and its gold."""

    doc_ids: list[int]
    candidate_ids: list[list[int]]
    gold_ids: list[int] | None


def candidate_text(text: str, spans: Sequence[tuple[int, int]], indices: Sequence[int]) -> str:
    """A candidate's sentences joined with a space, in document order."""
    return " ".join(text[spans[i][0] : spans[i][1]] for i in sorted(indices))


def gold_text(target: str) -> str:
    """The gold summary as the encoder reads it: its lines joined with a space."""
    return " ".join(line.strip() for line in target.split("\n") if line.strip())


def tokenize(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_tokens: int
) -> list[list[int]]:
    """``[CLS] text [SEP]`` ids (the tokenizer's own special tokens), cut at ``max_tokens``."""
    if not texts:
        return []
    ids: list[list[int]] = tokenizer(list(texts), truncation=True, max_length=max_tokens)[
        "input_ids"
    ]
    return ids


def encode_documents(
    docs: Sequence[MatchDocument],
    texts: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    config: MatchSumConfig,
    with_gold: bool,
) -> list[MatchFeatures]:
    """Token ids for the model; the gold summary is the target with lines joined by spaces."""
    doc_ids = tokenize(tokenizer, list(texts), config.max_doc_tokens)
    flat = [
        candidate_text(text, doc.spans, c)
        for doc, text in zip(docs, texts, strict=True)
        for c in doc.candidates
    ]
    flat_ids = tokenize(tokenizer, flat, config.max_candidate_tokens)
    golds = [gold_text(d.target) for d in docs]
    gold_ids = tokenize(tokenizer, golds, config.max_candidate_tokens) if with_gold else []
    out: list[MatchFeatures] = []
    pos = 0
    for i, d in enumerate(docs):
        n = len(d.candidates)
        gold = gold_ids[i] if with_gold and d.target else None
        out.append(MatchFeatures(doc_ids[i], flat_ids[pos : pos + n], gold))
        pos += n
    return out


def pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (R, T) and attention mask (R, T)."""
    width = max((len(r) for r in rows), default=1) or 1
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[r, : len(row)] = 1
    return ids, mask


def collate(features: Sequence[MatchFeatures], pad_id: int) -> MatchBatch:
    """Pad documents, candidates and gold summaries into one batch (see MatchBatch)."""
    doc_ids, doc_mask = pad([f.doc_ids for f in features], pad_id)
    cands = [c for f in features for c in f.candidate_ids]
    cand_ids, cand_mask = pad(cands, pad_id)
    slots = torch.zeros(
        (len(features), max((len(f.candidate_ids) for f in features), default=0)), dtype=torch.bool
    )
    for r, f in enumerate(features):
        slots[r, : len(f.candidate_ids)] = True
    gold_ids = gold_mask = None
    if all(f.gold_ids is not None for f in features):
        gold_ids, gold_mask = pad([f.gold_ids or [] for f in features], pad_id)
    return MatchBatch(doc_ids, doc_mask, cand_ids, cand_mask, slots, gold_ids, gold_mask)
