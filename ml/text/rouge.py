"""ROUGE as the benchmark figures are computed, and the greedy oracle.

Scores come from the ``rouge-score`` package: ``RougeScorer(['rouge1', 'rouge2',
'rougeLsum'], use_stemmer=True)``, rougeLsum over sentences joined with ``"\\n"``,
values are F1 x 100.

One deliberate extension: rouge-score's tokenizer drops every character outside
``[a-z0-9]``, so a Korean summary scores 0 against anything. :class:`RougeTokenizer`
also keeps Hangul runs as tokens (unstemmed). On text without Hangul it returns
exactly rouge-score's tokens (the tests check this), so English figures are the
package's own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from itertools import pairwise
from typing import Any

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")

# rouge-score: lowercase, keep [a-z0-9] runs, Porter-stem tokens longer than 3.
# Here Hangul runs are tokens too (split from adjacent Latin/digits: "GPT는" ->
# "gpt", "는").
_TOKEN_RE = re.compile(r"[a-z0-9]+|[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+")
_ASCII_TOKEN_RE = re.compile(r"^[a-z0-9]+$")


class RougeTokenizer:
    """rouge-score's DefaultTokenizer(use_stemmer=True), plus Hangul, with a stem cache."""

    def __init__(self) -> None:
        # nltk's package import pulls in scipy and scikit-learn (~1-3 s): only pay
        # for it when ROUGE is actually computed, not when ml.text.baselines is imported.
        from nltk.stem import porter

        stemmer = porter.PorterStemmer()
        # Stemming is most of the tokenizer's cost, and words repeat a lot.
        self._stem = lru_cache(maxsize=200_000)(stemmer.stem)

    def tokenize(self, text: str) -> list[str]:
        tokens = []
        for token in _TOKEN_RE.findall(text.lower()):
            if len(token) > 3 and _ASCII_TOKEN_RE.match(token):
                token = self._stem(token)
                if not _ASCII_TOKEN_RE.match(token):  # rouge-score's final filter
                    continue
            tokens.append(token)
        return tokens


@cache
def _tokenizer() -> RougeTokenizer:
    return RougeTokenizer()


@cache
def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True, tokenizer=_tokenizer())


def tokenize(text: str) -> list[str]:
    """The tokens ROUGE compares (lowercased, stemmed)."""
    return _tokenizer().tokenize(text)


@dataclass
class Scores:
    """Mean ROUGE F1 x 100 over ``n`` documents."""

    n: int
    rouge1: float
    rouge2: float
    rougeLsum: float  # the name rouge-score and the papers use

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def score_summary(summary_sentences: Sequence[str], reference: str) -> dict[str, float]:
    """ROUGE-1/2/Lsum F1 x 100 of a summary (its sentences) against a reference.

    Reference sentences are separated by ``"\\n"`` (as CNN/DM highlights are).
    """
    prediction = "\n".join(s.strip() for s in summary_sentences)
    result = _scorer().score(reference, prediction)
    return {key: result[key].fmeasure * 100 for key in ROUGE_TYPES}


def mean_scores(per_document: Iterable[dict[str, float]]) -> Scores:
    """Average per-document scores (as returned by :func:`score_summary`)."""
    rows = list(per_document)
    if not rows:
        raise ValueError("no scores to average")
    means = {key: sum(row[key] for row in rows) / len(rows) for key in ROUGE_TYPES}
    return Scores(n=len(rows), **means)


def candidate_rouge(candidate_sentences: Sequence[str], reference: str) -> float:
    """Mean of ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 (x 100): MatchSum's candidate rank."""
    scores = score_summary(candidate_sentences, reference)
    return sum(scores.values()) / len(scores)


# --- greedy oracle ----------------------------------------------------------


def _fmeasure(overlap: int, predicted: int, target: int) -> float:
    # Same arithmetic, in the same order, as rouge_scorer._score_ngrams and
    # scoring.fmeasure, so the floats are bit-identical to the package's.
    precision = overlap / max(predicted, 1)
    recall = overlap / max(target, 1)
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _bigrams(tokens: Sequence[str]) -> Counter[tuple[str, str]]:
    return Counter(pairwise(tokens))


class _Selection:
    """Unigram/bigram counts of the selected sentences joined in document order.

    rouge-score tokenizes the joined summary as one sequence, so bigrams cross
    sentence boundaries; adding a sentence between two selected ones replaces
    one bridging bigram with two. Counts are kept incrementally so that trying
    a candidate costs O(its length), not O(summary length).
    """

    def __init__(self, sentence_tokens: list[list[str]], ref1: Counter, ref2: Counter) -> None:
        self.tokens = sentence_tokens
        self.ref1, self.ref2 = ref1, ref2
        self.ref1_total, self.ref2_total = sum(ref1.values()), sum(ref2.values())
        self.uni: Counter[str] = Counter()
        self.bi: Counter[tuple[str, str]] = Counter()
        self.overlap1 = self.overlap2 = self.n_tokens = 0
        self.selected: list[int] = []  # sorted

    def _neighbours(self, index: int) -> tuple[str | None, str | None]:
        """Last token of the selected text before ``index``, first token after it."""
        before = after = None
        for i in self.selected:
            if i < index and self.tokens[i]:
                before = self.tokens[i][-1]
            elif i > index and self.tokens[i] and after is None:
                after = self.tokens[i][0]
        return before, after

    def _bigram_delta(self, index: int) -> Counter[tuple[str, str]]:
        tokens = self.tokens[index]
        delta = _bigrams(tokens)
        before, after = self._neighbours(index)
        if before is not None:
            delta[(before, tokens[0])] += 1
        if after is not None:
            delta[(tokens[-1], after)] += 1
        if before is not None and after is not None:
            delta[(before, after)] -= 1
        return delta

    @staticmethod
    def _overlap_gain(current: Counter, delta: Counter, reference: Counter) -> int:
        gain = 0
        for gram, change in delta.items():
            if change and gram in reference:
                limit = reference[gram]
                gain += min(current[gram] + change, limit) - min(current[gram], limit)
        return gain

    def score_with(self, index: int) -> tuple[float, float]:
        """(R1 F1, R2 F1) of the selection plus sentence ``index``."""
        tokens = self.tokens[index]
        if not tokens:
            return self.scores()
        uni_delta = Counter(tokens)
        bi_delta = self._bigram_delta(index)
        overlap1 = self.overlap1 + self._overlap_gain(self.uni, uni_delta, self.ref1)
        overlap2 = self.overlap2 + self._overlap_gain(self.bi, bi_delta, self.ref2)
        n = self.n_tokens + len(tokens)
        return (
            _fmeasure(overlap1, n, self.ref1_total),
            _fmeasure(overlap2, max(n - 1, 0), self.ref2_total),
        )

    def scores(self) -> tuple[float, float]:
        n = self.n_tokens
        return (
            _fmeasure(self.overlap1, n, self.ref1_total),
            _fmeasure(self.overlap2, max(n - 1, 0), self.ref2_total),
        )

    def add(self, index: int) -> None:
        tokens = self.tokens[index]
        if tokens:
            uni_delta = Counter(tokens)
            bi_delta = self._bigram_delta(index)
            self.overlap1 += self._overlap_gain(self.uni, uni_delta, self.ref1)
            self.overlap2 += self._overlap_gain(self.bi, bi_delta, self.ref2)
            self.uni.update(uni_delta)
            self.bi.update(bi_delta)
            self.n_tokens += len(tokens)
        self.selected = sorted([*self.selected, index])


def greedy_oracle(sentences: Sequence[str], reference: str, max_sentences: int = 3) -> list[int]:
    """Greedy extractive oracle (PreSumm's labels), as sorted sentence indices.

    Each step adds the sentence that most increases ROUGE-1 F1 + ROUGE-2 F1 of the
    selection (joined in document order, scored exactly as rouge-score does)
    against ``reference``; it stops when no sentence improves the sum or after
    ``max_sentences``. Ties go to the earlier sentence.
    """
    ref_tokens = tokenize(reference)
    if not ref_tokens or max_sentences <= 0:
        return []
    selection = _Selection(
        [tokenize(s) for s in sentences], Counter(ref_tokens), _bigrams(ref_tokens)
    )
    best = 0.0
    for _ in range(max_sentences):
        choice, choice_score = -1, best
        for index, tokens in enumerate(selection.tokens):
            if not tokens or index in selection.selected:
                continue
            r1, r2 = selection.score_with(index)
            if r1 + r2 > choice_score:
                choice, choice_score = index, r1 + r2
        if choice < 0:
            break
        selection.add(choice)
        best = choice_score
    return selection.selected


def oracle_rouge(sentences: Sequence[str], reference: str, selection: Iterable[int]) -> float:
    """ROUGE-1 F1 + ROUGE-2 F1 of ``selection`` by the oracle's own arithmetic (for tests)."""
    ref_tokens = tokenize(reference)
    state = _Selection([tokenize(s) for s in sentences], Counter(ref_tokens), _bigrams(ref_tokens))
    for index in sorted(set(selection)):
        state.add(index)
    r1, r2 = state.scores()
    return r1 + r2
