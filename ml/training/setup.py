"""What every model's ``train()`` shares: one signature (:class:`TrainFunction`), the
run's directories, the model to start from, and handing the prepared task to the loop.

A model writes ``prepare(config, run, train_data, val_data, **model_arguments) ->
Prepared`` (its data, model, optimizer and :class:`~ml.training.loop.LoopTask`) and
gets its public ``train`` from :func:`training_function`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from ml.checkpoints import list_training_checkpoints
from ml.encoders import load_tokenizer, set_attention_dropout
from ml.training.config import LoopConfig
from ml.training.loop import LoopTask, ProgressCallback, RunContext, TrainingLoop
from ml.training.results import DataReport, TrainResult, train_result

C = TypeVar("C", bound=LoopConfig)


def start_run(
    config: C,
    train_data: Sequence[Any],
    val_data: Sequence[Any],
    out_dir: str | Path,
    device: str | torch.device,
    resume: bool,
) -> tuple[C, RunContext]:
    """A copy of ``config`` (the model config gets filled in; the caller's stays intact)
    and the run's context: ``out_dir`` created, the checkpoint to resume from, if any."""
    config = copy.deepcopy(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not train_data:
        raise ValueError("no training documents")
    if not val_data:
        raise ValueError("no validation documents")
    existing = list_training_checkpoints(out / "checkpoints") if resume else []
    resume_dir = existing[-1] if existing else None
    return config, RunContext(out=out, device=torch.device(device), resume_dir=resume_dir)


def build_model(
    config: Any,
    resume_dir: Path | None,
    model_class: Any,
    load: Callable[[str | Path], tuple[Any, Any]],
) -> tuple[Any, Any]:
    """The model to train and its tokenizer: the resumed checkpoint, ``config.init_from``,
    a random encoder from ``config.model.encoder_config`` (tests) or the pretrained
    encoder. ``config.model`` becomes the model's config."""
    if resume_dir is not None:
        model, tokenizer = load(resume_dir)
    elif config.init_from:
        model, tokenizer = load(config.init_from)
    elif config.model.encoder_config is not None:  # an encoder built from its config (tests)
        model = model_class(config.model)
        tokenizer = load_tokenizer(config.model.encoder)
    else:
        model = model_class.from_pretrained_encoder(config.model)
        tokenizer = load_tokenizer(config.model.encoder)
    # The attention dropout the caller asked for applies to this run, whatever the
    # checkpoint was trained with (0 lets SDPA use its fast path on CPU).
    model.config.attention_dropout = config.model.attention_dropout
    if config.model.attention_dropout is not None:
        set_attention_dropout(model.encoder, config.model.attention_dropout)
    config.model = model.config
    return model, tokenizer


def validation_examples(val_data: Sequence[Any], config: LoopConfig) -> list[Any]:
    """The validation examples (the first ``config.val_limit``)."""
    return list(val_data)[: config.val_limit] if config.val_limit else list(val_data)


@dataclass
class Prepared:
    """A run ready for the loop: what a model's ``prepare`` returns."""

    task: LoopTask
    optimizer: torch.optim.Optimizer
    total: int  # optimizer steps of the whole run
    baselines: dict[str, float]  # metrics measured before training (baselines, probe)
    report: DataReport
    # (best model) -> its ValidationOutput on the first ``config.score_train_documents``
    # training documents; None where the model does not offer it.
    score_training: Callable[[Any], Any] | None = None


Prepare = Callable[..., Prepared]  # (config, run, train_data, val_data, **model_arguments)


# train(config, train_data, val_data, out_dir, log_dir=None, *, on_progress=None,
# should_stop=None, should_pause=None, device="cpu", resume=True, **model_arguments)
# -> TrainResult
TrainFunction = Callable[..., TrainResult]


_RUN_DOC = """``on_progress(step, total_steps, loss)`` is called after every optimizer step;
``should_stop()`` is polled after every step and cancels the run (a resumable
checkpoint is written first); ``should_pause()`` likewise checkpoints and returns
with ``stopped == "paused"`` (no final validation), for a caller that continues the
run later (the training worker, when its task's time is up). With ``resume`` the run
continues from the newest checkpoint in ``out_dir/checkpoints``; ``log_dir`` gets the
TensorBoard logs."""


def training_function(prepare: Prepare, doc: str) -> TrainFunction:
    """A model's ``train`` around its ``prepare``; ``doc`` is its docstring (the run
    options' description is added)."""

    def train(
        config: Any,
        train_data: Sequence[Any],
        val_data: Sequence[Any],
        out_dir: str | Path,
        log_dir: str | Path | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        should_pause: Callable[[], bool] | None = None,
        device: str | torch.device = "cpu",
        resume: bool = True,
        **model_arguments: Any,
    ) -> TrainResult:
        config, run = start_run(config, train_data, val_data, out_dir, device, resume)
        run.log_dir, run.on_progress, run.should_stop = log_dir, on_progress, should_stop
        run.should_pause = should_pause
        prepared = prepare(config, run, train_data, val_data, **model_arguments)
        loop = TrainingLoop(prepared.task, config, prepared.optimizer, prepared.total, run)
        outcome, metrics = loop.run(prepared.baselines, config.model.to_dict())
        result = train_result(outcome, metrics, prepared.report, run.out)
        finished = outcome.stopped not in ("paused", "cancelled")
        scorer = prepared.score_training if config.score_train_documents else None
        if finished and result.best_dir is not None and scorer is not None:
            result.training = scorer(prepared.task.load_best(result.best_dir))
        return result

    train.__doc__ = f"{doc}\n\n{_RUN_DOC}"
    return train
