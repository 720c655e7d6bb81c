"""BertSumExt settings (torch-free): the model's :class:`BertSumExtConfig` and its
training recipe :class:`TrainConfig`, whose defaults ARE the measured-best recipe
(BENCHMARKS.md: mean-pooled sentence vectors, every window of a long document, a
higher lr for the new head than for the pretrained encoder, attention dropout 0).

``BertSumExtConfig``'s own defaults are what a checkpoint without a key gets, so
they stay the paper's (cls pooling, the encoder's attention dropout); the recipe
sets its model fields through ``TrainConfig.model``'s default.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.models.encoder_config import EncoderSettings
from ml.settings import ConfigError, setting
from ml.training.config import LoopConfig

LONG_DOCUMENTS = ("windows", "truncate")
SENTENCE_POOLINGS = ("cls", "pooler", "mean")


@dataclass
class BertSumExtConfig(EncoderSettings):
    """Everything needed to rebuild a BertSumExt model and prepare its inputs."""

    max_pos: int = setting(512, minimum=16, help="tokens per window (extends the encoder's)")
    # Inter-sentence Transformer (PreSumm: 2 layers, 8 heads, ff 2048, dropout 0.1).
    ext_layers: int = setting(2, minimum=0, help="inter-sentence Transformer layers")
    ext_heads: int = setting(8, minimum=1, help="inter-sentence attention heads")
    ext_ff_size: int = setting(2048, minimum=1, help="inter-sentence feed-forward size")
    ext_dropout: float = setting(0.1, minimum=0, below=1, help="inter-sentence dropout")
    # "mean" suits encoders trained for mean-pooled sentence embeddings such as
    # all-MiniLM-L6-v2, whose [CLS] state was never trained to stand for a sentence.
    # "pooler": each [CLS] state through the encoder's own pretrained pooler (dense +
    # tanh, BERT's next-sentence-prediction input), fine-tuned with the encoder.
    sentence_pooling: str = setting(
        "cls",
        choices=SENTENCE_POOLINGS,
        help="sentence vectors: cls (the paper's), pooler (cls through the encoder's "
        "pooler) or mean (of the sentence's tokens)",
    )
    # Data settings (PreSumm prepro/data_builder.py defaults).
    min_sentence_tokens: int = setting(
        5, minimum=0, help="sentences with <= this many word tokens are not scored"
    )
    max_sentence_tokens: int = setting(200, minimum=1, help="subword tokens kept per sentence")
    max_train_sentences: int = setting(100, minimum=1, help="training: sentences per document")
    min_train_sentences: int = setting(
        3, minimum=0, help="training: documents with fewer sentences are skipped"
    )
    oracle_sentences: int = setting(3, minimum=1, help="greedy oracle size")
    long_documents: str = setting(
        "windows", choices=LONG_DOCUMENTS, help="over max_pos: overlapping windows or PreSumm's cut"
    )
    window_overlap: int = setting(
        3, minimum=0, help="sentences of left context repeated from the previous window"
    )
    language: str | None = setting(None, help="language of the sentence splitter (None: detect)")


def recipe_model() -> BertSumExtConfig:
    """The model settings of the measured recipe."""
    return BertSumExtConfig(sentence_pooling="mean", attention_dropout=0.0)


@dataclass
class TrainConfig(LoopConfig):
    """BertSumExt's training settings; ``model`` holds the model and data settings."""

    model: BertSumExtConfig = setting(
        factory=recipe_model, cli=False, help="the model and data settings"
    )
    lr: float = setting(7e-5, minimum=0, help="peak learning rate of the encoder")
    head_lr: float | None = setting(
        2e-4, minimum=0, help="peak learning rate of the new layers (None or 0: lr)"
    )
    # "first": one window per document cut at max_pos (PreSumm); "all": every window of a
    # long document, as windowed inference sees it, so sentences past max_pos are learnt too.
    train_windows: str = setting(
        "all",
        choices=("first", "all"),
        help="first window of each document (PreSumm) or all windows",
    )
    block_trigrams: bool = setting(True, help="trigram blocking in validation summaries")
    eval_batch_size: int = setting(16, minimum=1, help="windows per forward in validation")
    # Linear probing then fine-tuning: before the first step of a new run, train the
    # head alone for this many epochs on frozen-encoder sentence vectors (one forward
    # pass per window), so fine-tuning starts from a head that already ranks sentences.
    probe_epochs: int = setting(
        0, minimum=0, help="first train the head alone on frozen-encoder vectors for N epochs"
    )
    probe_lr: float = setting(1e-3, above=0, help="learning rate of the head-only probe")
    # The projector stores every vector as text (tensors.tsv): a few thousand sentences
    # stay small and load fast in the browser.
    projector_documents: int = setting(
        50,
        minimum=0,
        help="TensorBoard embedding projector: sentence vectors of the first N validation "
        "documents at each validation (0: none)",
    )


__all__ = ["BertSumExtConfig", "ConfigError", "TrainConfig", "recipe_model"]
