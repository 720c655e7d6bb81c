"""The training-loop settings every model shares (:class:`LoopConfig`). Torch-free.

:class:`LoopConfig` holds the fields of the optimisation loop (``ml.training.loop``); a
model's train config extends it with a ``model`` field (that model's config) and its own
settings. The settings machinery (``setting``, ``Settings``, ``ConfigError``) is
``ml.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.settings import Settings, setting


@dataclass
class LoopConfig(Settings):
    """The settings of the optimisation loop, shared by every model's train config."""

    # Optimisation.
    batch_size: int = setting(4, minimum=1, help="training items per micro-batch")
    grad_accum: int = setting(1, minimum=1, help="micro-batches per optimizer step")
    weight_decay: float = setting(0.01, minimum=0, help="AdamW weight decay")
    schedule: str = setting(
        "linear",
        choices=("linear", "noam"),
        help="linear: warmup then linear decay to 0; noam: PreSumm's inverse square root",
    )
    warmup_steps: int = setting(50, minimum=0, help="optimizer steps of learning-rate warmup")
    epochs: float = setting(1.0, minimum=0, help="passes over the training items")
    max_steps: int | None = setting(
        None, minimum=0, help="optimizer steps (overrides epochs; 0: epochs decide)"
    )
    max_minutes: float | None = setting(
        None, minimum=0, help="stop (checkpoint + validate) after this many minutes"
    )
    max_grad_norm: float = setting(1.0, minimum=0, help="gradient clipping norm")
    precision: str = setting(
        "auto",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="auto: fp32 on CPU, bf16 (or fp16) on CUDA; fp16 needs CUDA",
    )
    log_every: int = setting(10, minimum=1, help="TensorBoard train scalars every N steps")
    eval_every: int = setting(
        200, minimum=1, help="validation (and a checkpoint) every N optimizer steps"
    )
    checkpoint_every: int | None = setting(
        None, minimum=0, help="extra checkpoints for resuming every N steps (default: eval_every)"
    )
    keep_checkpoints: int = setting(2, minimum=1, help="training checkpoints kept for resuming")
    # At the end, also validate the mean weights of the last 2..N checkpoints and keep one
    # that beats the best single step (0: off); that many checkpoints are kept meanwhile.
    average_checkpoints: int = setting(
        0,
        minimum=0,
        help="at the end, try the mean weights of the last 2..N checkpoints (0: off)",
    )
    select_by: str = setting(
        "rouge",
        choices=("rouge", "loss"),
        help="keep the best model by rouge (mean R1/R2/RLsum) or validation loss",
    )
    val_limit: int | None = setting(
        None, minimum=0, help="validate on the first N documents (0: all)"
    )
    summary_sentences: int = setting(3, minimum=1, help="sentences per validation summary")
    seed: int = setting(1, help="seed of the initialisation and the data order")
    cache_dir: str | None = setting(None, help="features cache (default: OUT/cache)")
    init_from: str | None = setting(None, help="start from a trained checkpoint dir (retraining)")
    score_train_documents: int = setting(
        0,
        minimum=0,
        help="after training, score the first N training documents with the best model "
        "(their misclassified sentences are likely label noise; 0: none)",
    )
