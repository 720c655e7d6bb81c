"""The zero-label default: an unsupervised extractive scorer that adapts to the document.

It serves before anyone has labelled data. Each sentence's score is position-aware
centrality (PacSum, Zheng & Lapata 2019) over TF-IDF vectors of ROUGE's stemmed
tokens, plus a length term and a position prior whose weights depend on what the
document measurably is:

- a **dialogue** (most lines open with a speaker tag, ``#Person1#:`` or ``Anna:``):
  the opening turn states the topic, so a strong prior on the first sentence,
  undirected centrality, some weight on longer turns, and short turns ("Yes.")
  stay candidates;
- **prose** otherwise (news, papers, abstracts): directed centrality (a sentence
  similar to what follows it introduces it, one similar to what precedes it
  repeats it) and a mild prior on the lead;
- **Korean prose** weights length more: Korean words carry their particles
  ("바이러스가", "바이러스는"), so exact-word overlap is sparse evidence of
  centrality and the longer sentences carry the content.

A filter keeps non-sentences out of the candidates: bylines, e-mail addresses and
links, photo credits and page furniture ("Scroll down for video", "PUBLISHED:"),
headings (short lines without final punctuation in a document whose sentences
have it) and very short fragments. If fewer than ``max_sentences`` candidates
remain, all sentences compete.

Work is bounded: the similarity graph spans the first ``max_graph_sentences``
sentences (later ones score 0 and are never selected), an ``n x n`` matrix of
float64 and a sparse TF-IDF matrix, nothing else grows with the document.

Every default lives in :class:`ZeroLabelParams`. They were tuned on the CNN/DM
validation split and the development sets of ``shared/data/domains`` (first 300
documents each), never on test data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ml.text.rouge import tokenize
from ml.text.selection import top_k
from ml.text.sentences import detect_language, split_sentences
from ml.text.summary import Summary, build_summary

NAME = "default"


@dataclass(frozen=True)
class ZeroLabelParams:
    """Every tunable of the zero-label default (the one source of its defaults)."""

    # PacSum's directed centrality: weight of the similarity to earlier sentences
    # (negative: repeating what came before is not summary-worthy) and to later ones.
    backward_weight: float = -2.0
    forward_weight: float = 1.0
    # Prior on the lead: position_weight * exp(-index / position_decay), added to
    # standardised centrality.
    position_weight: float = 0.5
    position_decay: float = 1.0
    # Weight of the standardised log token count of a sentence.
    length_weight: float = 0.0
    korean_length_weight: float = 2.0
    # Dialogues: the share of non-empty lines that open with a speaker tag, and
    # at least this many such lines.
    dialogue_speaker_share: float = 0.5
    dialogue_min_turns: int = 3
    dialogue_backward_weight: float = 0.0
    dialogue_length_weight: float = 0.5
    dialogue_position_weight: float = 4.0
    dialogue_position_decay: float = 1.0
    # Candidate filter: fewer tokens than this is a fragment ("Thanks to dad.").
    min_tokens: int = 4
    dialogue_min_tokens: int = 2
    # A line of at most this many tokens without final punctuation is a heading,
    # in a document where at least heading_punctuated_share of sentences end in one.
    heading_tokens: int = 8
    heading_punctuated_share: float = 0.5
    # The similarity graph spans this many leading sentences (the service passes
    # its MAX_DOCUMENT_SENTENCES, so every accepted document is scored whole).
    max_graph_sentences: int = 2000


# A speaker tag opening a line: "#Person1#:", "Anna:", "Dr. Smith:", "민수:".
_SPEAKER_RE = re.compile(r"^\s*(#[^#\n]{1,30}#|[A-Z\uac00-\ud7a3][\w\uac00-\ud7a3 .'-]{0,30})\s*:")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL_RE = re.compile(r"https?://|www\.", re.IGNORECASE)
# "By John Smith .", "By Daily Mail Reporter", "From Reuters"
_BYLINE_RE = re.compile(
    r"^\W*(by|from)\s+[A-Z][\w.'’-]*(\s+(and\s+)?[A-Z][\w.'’-]*){0,5}\W*$"
    r"|^\W*by\s+(daily\s+mail|associated\s+press|reuters|cnn)\b",
    re.IGNORECASE,
)
_FURNITURE_RE = re.compile(
    r"\b(photo|image|picture|video|graphic)s?\s*(credit|courtesy|by)?\s*:"
    r"|\bgetty images\b|\b(ap|afp|reuters)\s+photo\b|\bscroll down\b|\bclick here\b"
    r"|\bpublished:|\bupdated:|\bfollow\s+@|\blast updated at\b",
    re.IGNORECASE,
)
# A Korean byline: "홍길동 기자", "[워싱턴 특파원]".
_KOREAN_BYLINE_RE = re.compile(
    r"(기자|특파원|통신원)\s*[\]\)]?\s*$|^\s*[\[\(]?\s*[\uac00-\ud7a3]{2,4}\s*(기자|특파원)"
)
_TERMINAL_RE = re.compile(r"[.!?。！？…\"”’')\]]\s*$")


@dataclass(frozen=True)
class DocumentProfile:
    """What the scorer measured about a document and the weights it chose from that."""

    kind: str  # "dialogue" or "prose"
    language: str
    sentences: int
    speaker_turns: int
    backward_weight: float
    length_weight: float
    position_weight: float
    position_decay: float
    min_tokens: int


def speaker_turns(text: str) -> tuple[int, int]:
    """(lines opening with a speaker tag, non-empty lines)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return sum(bool(_SPEAKER_RE.match(line)) for line in lines), len(lines)


def profile(text: str, sentence_count: int, params: ZeroLabelParams) -> DocumentProfile:
    """Measure the document and pick the weights for it."""
    language = detect_language(text)
    turns, lines = speaker_turns(text)
    if turns >= params.dialogue_min_turns and turns >= params.dialogue_speaker_share * lines:
        return DocumentProfile(
            "dialogue",
            language,
            sentence_count,
            turns,
            params.dialogue_backward_weight,
            params.dialogue_length_weight,
            params.dialogue_position_weight,
            params.dialogue_position_decay,
            params.dialogue_min_tokens,
        )
    length_weight = params.korean_length_weight if language == "ko" else params.length_weight
    return DocumentProfile(
        "prose",
        language,
        sentence_count,
        turns,
        params.backward_weight,
        length_weight,
        params.position_weight,
        params.position_decay,
        params.min_tokens,
    )


def non_sentence_reason(
    sentence: str, token_count: int, min_tokens: int = 4, heading_tokens: int = 8
) -> str:
    """Why ``sentence`` is not a summary candidate ("" when it is one); a line of at
    most ``heading_tokens`` tokens without final punctuation is a heading (0: never)."""
    if token_count < min_tokens:
        return "fragment"
    if _EMAIL_RE.search(sentence) or _URL_RE.search(sentence):
        return "address"
    if _BYLINE_RE.match(sentence) or _KOREAN_BYLINE_RE.search(sentence):
        return "byline"
    if _FURNITURE_RE.search(sentence):
        return "credit"
    if token_count <= heading_tokens and not _TERMINAL_RE.search(sentence):
        return "heading"
    return ""


def candidates(
    sentences: Sequence[str],
    tokens: Sequence[Sequence[str]],
    min_tokens: int,
    params: ZeroLabelParams,
) -> np.ndarray:
    """A boolean mask: which sentences may be selected."""
    if not sentences:
        return np.zeros(0, dtype=bool)
    punctuated = sum(bool(_TERMINAL_RE.search(s)) for s in sentences) / len(sentences)
    heading_tokens = params.heading_tokens if punctuated >= params.heading_punctuated_share else 0
    return np.array(
        [
            not non_sentence_reason(s, len(t), min_tokens, heading_tokens)
            for s, t in zip(sentences, tokens, strict=True)
        ],
        dtype=bool,
    )


def tfidf_similarities(tokens: Sequence[Sequence[str]]) -> np.ndarray:
    """(n, n) cosine similarities of the sentences' TF-IDF vectors, zero diagonal.

    IDF is over the document's own sentences (smoothed), so a word every sentence
    uses weighs little without a stop-word list in any language.
    """
    from scipy import sparse

    n = len(tokens)
    vocabulary: dict[str, int] = {}
    indptr, indices, counts = [0], [], []
    for sentence in tokens:
        for term, count in Counter(sentence).items():
            indices.append(vocabulary.setdefault(term, len(vocabulary)))
            counts.append(count)
        indptr.append(len(indices))
    matrix = sparse.csr_array(
        (np.asarray(counts, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
        shape=(n, max(len(vocabulary), 1)),
    )
    document_frequency = np.bincount(np.asarray(indices, dtype=np.int64), minlength=matrix.shape[1])
    idf = np.log((n + 1) / (document_frequency + 1)) + 1.0
    weighted = sparse.csr_array(matrix @ sparse.diags_array(idf))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    unit = sparse.csr_array(sparse.diags_array(1.0 / norms) @ weighted)
    similarities = np.asarray((unit @ unit.T).toarray(), dtype=np.float64)
    np.fill_diagonal(similarities, 0.0)
    return similarities


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def sentence_scores(
    tokens: Sequence[Sequence[str]], profile_: DocumentProfile, params: ZeroLabelParams
) -> np.ndarray:
    """One score per sentence of the graph (the first ``max_graph_sentences``)."""
    head = tokens[: params.max_graph_sentences]
    n = len(head)
    if n == 0:
        return np.zeros(0)
    similarities = tfidf_similarities(head)
    backward = np.tril(similarities, -1).sum(axis=1)  # to earlier sentences
    forward = np.triu(similarities, 1).sum(axis=1)  # to later sentences
    centrality = profile_.backward_weight * backward + params.forward_weight * forward
    lengths = np.log1p(np.array([len(t) for t in head], dtype=np.float64))
    position = np.exp(-np.arange(n) / profile_.position_decay)
    scores = (
        _standardise(centrality)
        + profile_.length_weight * _standardise(lengths)
        + profile_.position_weight * position
    )
    # Rounded so that ties in theory tie in floating point, and the earlier one wins.
    return np.round(scores, 12)


class ZeroLabel:
    """The zero-label default summarizer (``ml evaluate --system default``)."""

    name = NAME

    def __init__(self, params: ZeroLabelParams | None = None, **overrides: Any) -> None:
        params = params or ZeroLabelParams()
        self.params = replace(params, **overrides) if overrides else params
        if self.params.max_graph_sentences <= 0:
            raise ValueError("max_graph_sentences must be positive")

    def summarize(self, texts: list[str], max_sentences: int = 3) -> list[Summary]:
        return [self.summarize_one(text, max_sentences) for text in texts]

    def summarize_one(self, text: str, max_sentences: int = 3) -> Summary:
        spans = split_sentences(text)
        sentences = [span.text for span in spans]
        head = sentences[: self.params.max_graph_sentences]
        tokens = [tokenize(sentence) for sentence in head]
        measured = profile(text, len(sentences), self.params)
        scores = np.zeros(len(sentences))
        scores[: len(head)] = sentence_scores(tokens, measured, self.params)
        allowed = candidates(head, tokens, measured.min_tokens, self.params)
        ranked = scores.copy()
        ranked[len(head) :] = -np.inf
        if allowed.sum() >= min(max_sentences, len(head)):
            ranked[: len(head)][~allowed] = -np.inf
            # Shown below every candidate, so ranking by score gives the selection.
            if allowed.any() and not allowed.all():
                scores[: len(head)][~allowed] = scores[: len(head)][allowed].min() - 1.0
        selected = top_k(list(ranked), min(max_sentences, len(head)))
        summary = build_summary(spans, list(scores), selected, self.name)
        if spans:
            summary.notes.append(describe(measured, int((~allowed).sum()), len(head)))
        return summary


def describe(measured: DocumentProfile, filtered: int, scored: int) -> str:
    """The note a summary carries: which model, what it saw in the document."""
    what = (
        f"a dialogue ({measured.speaker_turns} speaker turns)"
        if measured.kind == "dialogue"
        else f"{'Korean ' if measured.language == 'ko' else ''}prose"
    )
    note = (
        f"zero-label default: position-aware centrality for {what}, {measured.sentences} sentences"
    )
    if scored < measured.sentences:
        note += f" (the first {scored} scored)"
    if filtered:
        note += (
            f"; {filtered} non-sentence(s) (bylines, addresses, credits, headings, "
            "fragments) not selectable"
        )
    return note + "."
