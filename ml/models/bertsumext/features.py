"""BertSumExt features: raw text -> sentences -> oracle labels -> [CLS] s [SEP] windows.

Follows PreSumm's ``prepro/data_builder.py`` (filters, greedy oracle, interval
segments, cut at ``max_pos``) with two differences a service needs:

* nothing is lost silently: every sentence not given to the model is recorded in
  :attr:`DocumentFeatures.cuts` with the reason and its label;
* documents longer than ``max_pos`` can be scored whole with overlapping windows
  of whole sentences (``config.long_documents == "windows"``); training uses the
  first window, as PreSumm does, or every window (``TrainConfig.train_windows``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from ml.models.bertsumext.config import BertSumExtConfig
from ml.models.bertsumext.model import ExtBatch
from ml.text.cache import cached_json, examples_key

_WORD = re.compile(r"\w+|[^\w\s]")  # about PTB tokens, which PreSumm's filters count

CUT_SHORT = "short"  # <= min_sentence_tokens word tokens
CUT_MAX_SENTENCES = "max_sentences"  # beyond max_train_sentences (training)
CUT_MAX_POS = "max_pos"  # its [CLS] falls beyond max_pos (truncate mode / training)
FEATURES_VERSION = 1  # bump when the cached layout or the algorithm changes


@dataclass(frozen=True)
class SentenceCut:
    """A sentence the model does not see, and why."""

    index: int  # into DocumentFeatures.spans
    reason: str
    label: int | None


@dataclass
class DocumentFeatures:
    """One document split into sentences, labelled and tokenized for the model."""

    id: str
    spans: list[tuple[int, int]]  # (start, end) character offsets of every sentence
    labels: list[int] | None  # one per sentence of ``spans``; None without reference/labels
    scored: list[int]  # indices (into spans) of the sentences the model scores
    token_ids: list[list[int]]  # subword ids per scored sentence, cut at max_sentence_tokens
    truncated: list[int] = field(default_factory=list)  # scored sentences cut at max tokens
    cuts: list[SentenceCut] = field(default_factory=list)

    @property
    def cut_positives(self) -> list[int]:
        return [c.index for c in self.cuts if c.label]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentFeatures:
        data = dict(data)
        data["spans"] = [tuple(s) for s in data["spans"]]
        data["cuts"] = [SentenceCut(**c) for c in data["cuts"]]
        return cls(**data)


@dataclass
class Window:
    """One model input: consecutive scored sentences of a document."""

    doc: int  # position of the document in the list being processed
    sentences: list[int]  # positions in DocumentFeatures.scored
    score_from: int  # scores are taken for self.sentences[score_from:]
    input_ids: list[int]
    token_type_ids: list[int]
    cls_positions: list[int]  # one per entry of ``sentences`` (may be fewer if cut)
    labels: list[int] | None = None


def word_tokens(text: str) -> int:
    return len(_WORD.findall(text))


def _split(text: str, language: str | None) -> list[tuple[int, int]]:
    from ml.text.sentences import split_sentences

    return [(s.start, s.end) for s in split_sentences(text, language=language)]


def oracle_labels(
    sentences: Sequence[str],
    reference: str,
    overrides: dict[int, int] | None,
    max_sentences: int,
) -> list[int] | None:
    """Greedy ROUGE-1+2 oracle labels, then staff overrides by sentence index."""
    if not reference.strip() and not overrides:
        return None
    labels = [0] * len(sentences)
    if reference.strip():
        from ml.text.rouge import greedy_oracle

        for i in greedy_oracle(list(sentences), reference, max_sentences=max_sentences):
            labels[i] = 1
    for i, value in (overrides or {}).items():
        if not 0 <= int(i) < len(sentences):
            raise ValueError(
                f"label override for sentence {i}, but the text has {len(sentences)} sentences"
            )
        labels[int(i)] = 1 if value else 0
    return labels


def build_features(
    doc_id: str,
    text: str,
    spans: list[tuple[int, int]],
    token_ids: list[list[int]],
    labels: list[int] | None,
    config: BertSumExtConfig,
    training: bool,
) -> DocumentFeatures:
    """Apply PreSumm's filters to pre-split, pre-tokenized sentences."""
    cuts: list[SentenceCut] = []

    def label(i: int) -> int | None:
        return None if labels is None else labels[i]

    scored = [
        i for i, (s, e) in enumerate(spans) if word_tokens(text[s:e]) > config.min_sentence_tokens
    ]
    if not scored:  # a text of short sentences: score them all rather than nothing
        scored = list(range(len(spans)))
    kept = set(scored)
    cuts.extend(SentenceCut(i, CUT_SHORT, label(i)) for i in range(len(spans)) if i not in kept)
    if training and len(scored) > config.max_train_sentences:
        cuts.extend(
            SentenceCut(i, CUT_MAX_SENTENCES, label(i))
            for i in scored[config.max_train_sentences :]
        )
        scored = scored[: config.max_train_sentences]
    ids: list[list[int]] = []
    truncated: list[int] = []
    for i in scored:
        sent = token_ids[i]
        if len(sent) > config.max_sentence_tokens:
            truncated.append(i)
            sent = sent[: config.max_sentence_tokens]
        ids.append(sent)
    cuts.sort(key=lambda c: c.index)
    return DocumentFeatures(doc_id, spans, labels, scored, ids, truncated, cuts)


def featurize(
    examples: Sequence[Any],
    tokenizer: PreTrainedTokenizerBase,
    config: BertSumExtConfig,
    training: bool,
) -> list[DocumentFeatures]:
    """Features for ``ml.text.data.Example``-like objects (id, text, reference, labels)."""
    all_spans = [_split(ex.text, config.language) for ex in examples]
    flat = [ex.text[s:e] for ex, spans in zip(examples, all_spans, strict=True) for s, e in spans]
    flat_ids = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    out: list[DocumentFeatures] = []
    pos = 0
    for ex, spans in zip(examples, all_spans, strict=True):
        sent_ids = flat_ids[pos : pos + len(spans)]
        sent_texts = flat[pos : pos + len(spans)]
        pos += len(spans)
        labels = oracle_labels(
            sent_texts,
            getattr(ex, "reference", "") or "",
            getattr(ex, "labels", None),
            config.oracle_sentences,
        )
        out.append(build_features(ex.id, ex.text, spans, sent_ids, labels, config, training))
    return out


def features_from_texts(
    texts: Sequence[str], tokenizer: PreTrainedTokenizerBase, config: BertSumExtConfig
) -> list[DocumentFeatures]:
    """Inference features for raw texts (no labels)."""

    @dataclass
    class _Raw:
        id: str
        text: str

    return featurize([_Raw(str(i), t) for i, t in enumerate(texts)], tokenizer, config, False)


# --- windows ------------------------------------------------------------------------------


def _encode(
    sents: Sequence[list[int]], cls_id: int, sep_id: int, max_pos: int
) -> tuple[list[int], list[int], list[int]]:
    """[CLS] s [SEP] ... with interval segments, cut at max_pos as PreSumm does."""
    ids: list[int] = []
    segs: list[int] = []
    cls: list[int] = []
    for j, sent in enumerate(sents):
        cls.append(len(ids))
        piece = [cls_id, *sent, sep_id]
        ids.extend(piece)
        segs.extend([j % 2] * len(piece))
    if len(ids) > max_pos:
        ids = [*ids[: max_pos - 1], sep_id]
        segs = segs[:max_pos]
        cls = [c for c in cls if c < max_pos]
    return ids, segs, cls


def window_bounds(lengths: Sequence[int], max_pos: int, overlap: int) -> list[tuple[int, int, int]]:
    """Overlapping windows of whole sentences: (start, end, score_from) over sentence positions.

    Each sentence costs ``len + 2`` tokens. A window holds as many whole sentences
    as fit; the next one repeats up to ``overlap`` sentences as left context and
    scores only the new ones, so every sentence is scored exactly once. A single
    sentence longer than ``max_pos`` becomes a window of its own (cut).
    """
    cost = [n + 2 for n in lengths]
    n = len(cost)
    bounds: list[tuple[int, int, int]] = []

    def fill(start: int) -> int:
        end, used = start, 0
        while end < n and used + cost[end] <= max_pos:
            used += cost[end]
            end += 1
        return max(end, start + 1)

    start, score_from = 0, 0
    while score_from < n:
        end = fill(start)
        while end <= score_from:  # the context alone fills the window: use less context
            start += 1
            end = fill(start)
        bounds.append((start, end, score_from - start))
        score_from = end
        start = max(end - overlap, 0)
    return bounds


def document_windows(
    doc: DocumentFeatures,
    doc_index: int,
    tokenizer: PreTrainedTokenizerBase,
    config: BertSumExtConfig,
    mode: str | None = None,
) -> list[Window]:
    """Model inputs covering the document; ``mode`` defaults to ``config.long_documents``.

    "truncate" (and training) gives one window cut at ``max_pos`` exactly like
    PreSumm: sentences whose [CLS] falls beyond are recorded in ``doc.cuts``.
    """
    mode = mode or config.long_documents
    cls_id, sep_id = _special_ids(tokenizer)
    pos_labels = None if doc.labels is None else [doc.labels[i] for i in doc.scored]
    if mode == "truncate" or not doc.scored:
        ids, segs, cls = _encode(doc.token_ids, cls_id, sep_id, config.max_pos)
        kept = len(cls)
        already = {c.index for c in doc.cuts}
        for p in range(kept, len(doc.scored)):
            i = doc.scored[p]
            if i not in already:
                doc.cuts.append(
                    SentenceCut(i, CUT_MAX_POS, None if doc.labels is None else doc.labels[i])
                )
        doc.cuts.sort(key=lambda c: c.index)
        return [
            Window(
                doc_index,
                list(range(kept)),
                0,
                ids,
                segs,
                cls,
                None if pos_labels is None else pos_labels[:kept],
            )
        ]
    windows = []
    for start, end, score_from in window_bounds(
        [len(t) for t in doc.token_ids], config.max_pos, config.window_overlap
    ):
        ids, segs, cls = _encode(doc.token_ids[start:end], cls_id, sep_id, config.max_pos)
        windows.append(
            Window(
                doc_index,
                list(range(start, end)),
                score_from,
                ids,
                segs,
                cls,
                None if pos_labels is None else pos_labels[start:end],
            )
        )
    return windows


def _special_ids(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    cls_id = (
        tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    )
    sep_id = (
        tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    )
    if cls_id is None or sep_id is None:
        raise ValueError("the encoder's tokenizer has no [CLS]/[SEP] (or <s>/</s>) tokens")
    return int(cls_id), int(sep_id)


def collate(windows: Sequence[Window], pad_id: int) -> ExtBatch:
    """Pad windows into one batch (see ExtBatch for shapes)."""
    b = len(windows)
    t = max(len(w.input_ids) for w in windows)
    s = max(max(len(w.cls_positions) for w in windows), 1)
    input_ids = torch.full((b, t), pad_id, dtype=torch.long)
    attention = torch.zeros((b, t), dtype=torch.long)
    segs = torch.zeros((b, t), dtype=torch.long)
    cls = torch.zeros((b, s), dtype=torch.long)
    mask = torch.zeros((b, s), dtype=torch.bool)
    positions = torch.zeros((b, s), dtype=torch.long)
    has_labels = all(w.labels is not None for w in windows)
    labels = torch.zeros((b, s), dtype=torch.float) if has_labels else None
    for r, w in enumerate(windows):
        n, k = len(w.input_ids), len(w.cls_positions)
        input_ids[r, :n] = torch.tensor(w.input_ids)
        attention[r, :n] = 1
        segs[r, :n] = torch.tensor(w.token_type_ids)
        cls[r, :k] = torch.tensor(w.cls_positions)
        mask[r, :k] = True
        positions[r, :k] = torch.tensor(w.sentences[:k])
        if labels is not None and w.labels is not None:
            labels[r, :k] = torch.tensor(w.labels[:k], dtype=torch.float)
    return ExtBatch(input_ids, attention, segs, cls, mask, positions, labels)


# --- cache --------------------------------------------------------------------------------


def features_key(
    examples: Iterable[Any],
    tokenizer: PreTrainedTokenizerBase,
    config: BertSumExtConfig,
    training: bool,
) -> str:
    """Hash of the data, the data settings and the tokenizer's vocabulary."""
    settings = {
        k: v
        for k, v in config.to_dict().items()
        if k
        in {
            "min_sentence_tokens",
            "max_sentence_tokens",
            "max_train_sentences",
            "oracle_sentences",
            "language",
        }
    }
    vocab = tokenizer.get_vocab()
    extra = hashlib.sha256(json.dumps(sorted(vocab.items())).encode()).digest()
    extra += type(tokenizer).__name__.encode()
    return examples_key([FEATURES_VERSION, settings, training], examples, extra)


def cached_features(
    examples: Sequence[Any],
    tokenizer: PreTrainedTokenizerBase,
    config: BertSumExtConfig,
    training: bool,
    cache_dir: str | Path | None,
) -> list[DocumentFeatures]:
    """:func:`featurize` with a JSON cache keyed by :func:`features_key` (oracle is slow)."""
    path = None
    if cache_dir is not None:
        key = features_key(examples, tokenizer, config, training)
        path = Path(cache_dir) / f"ext-features-{key}.json"
    return cached_json(
        path,
        lambda: featurize(examples, tokenizer, config, training),
        DocumentFeatures.from_json,
    )
