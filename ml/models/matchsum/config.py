"""MatchSum settings (torch-free): the model's :class:`MatchSumConfig` and its training
recipe :class:`TrainConfig` (defaults = the recipe, attention dropout 0 included).
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.models.encoder_config import EncoderSettings
from ml.settings import ConfigError, setting
from ml.training.config import LoopConfig

POOLINGS = ("cls", "pooler", "mean")


@dataclass
class MatchSumConfig(EncoderSettings):
    """Everything needed to rebuild a MatchSum model, its candidates and its loss."""

    # "mean" is how sentence-transformers trained all-MiniLM-L6-v2, the default encoder;
    # better on validation, see BENCHMARKS.md.
    pooling: str = setting(
        "mean",
        choices=POOLINGS,
        help="text embedding: cls (the paper's top [CLS] state), pooler (it through the "
        "encoder's pooler) or the mean of the tokens",
    )
    max_doc_tokens: int = setting(512, minimum=8, help="the document is cut here")
    max_candidate_tokens: int = setting(
        256, minimum=8, help="a candidate / the gold summary is cut here"
    )
    # The paper's CNN/DM setting: 5 and (2, 3) -> 20 candidates.
    candidate_k: int = setting(5, minimum=1, help="sentences kept by the extractor")
    candidate_sizes: list[int] = setting(
        factory=lambda: [2, 3], help="sentences per candidate, e.g. 2,3"
    )
    # Loss: margin * (rank gap) between candidates, gold_margin between the gold
    # summary and every candidate (the paper: 0.01 and 0).
    margin: float = setting(0.01, minimum=0, help="ranking margin per rank gap")
    gold_margin: float = setting(0.0, minimum=0, help="margin between gold and candidates")
    gold_weight: float = setting(1.0, minimum=0, help="weight of the gold loss")
    oracle_sentences: int = setting(
        3, minimum=1, help="size of the greedy-oracle labels of the validation report"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.candidate_sizes = sorted({int(s) for s in self.candidate_sizes})
        if not self.candidate_sizes or self.candidate_sizes[0] < 1:
            raise ConfigError("model.candidate_sizes must be positive sentence counts")


def recipe_model() -> MatchSumConfig:
    """The model settings of the recipe (attention dropout 0: SDPA's fast path)."""
    return MatchSumConfig(attention_dropout=0.0)


@dataclass
class TrainConfig(LoopConfig):
    """MatchSum's training settings; ``model`` holds the model, candidate and loss settings."""

    model: MatchSumConfig = setting(
        factory=recipe_model, cli=False, help="the model, candidate and loss settings"
    )
    lr: float = setting(2e-5, minimum=0, help="peak learning rate (the reference code: 2e-5)")
    eval_batch_size: int = setting(32, minimum=1, help="texts per encoder forward in validation")
    extractor_batch_size: int = setting(16, minimum=1, help="windows per extractor forward")


__all__ = ["ConfigError", "MatchSumConfig", "TrainConfig", "recipe_model"]
