"""The optimisation loop every model shares: :class:`TrainingLoop`.

A model's ``train.py`` prepares its data, model and optimizer, then hands the loop a
:class:`LoopTask`: how to turn a micro-batch of training items into a loss, how to
validate, and how to save a checkpoint or the best model. The loop owns everything
else, once: the seeded per-epoch data order, gradient accumulation, clipping, the
schedule, TensorBoard scalars, validation and checkpoint cadence, keeping the best
model, the time budget, cancellation, resuming bit for bit from a checkpoint and
checkpoint averaging at the end.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model

from ml.checkpoints import WEIGHTS_NAME, list_training_checkpoints, load_training_state, step_dir
from ml.training.averaging import average_weights
from ml.training.config import LoopConfig
from ml.training.tensorboard import (
    GraphInputs,
    close_writer,
    log_graph,
    log_histograms,
    open_writer,
)

ProgressCallback = Callable[[int, int, float], None]


@dataclass
class LoopTask:
    """The model-specific parts of a training run."""

    model: torch.nn.Module
    items: Sequence[Any]  # training items; a micro-batch is a list of them
    loss: Callable[[list[Any]], torch.Tensor]  # micro-batch -> mean loss (forward inside)
    validate: Callable[[Any], Any]  # a model (this one, or a saved best) -> its validation
    save_best: Callable[[Path, dict[str, float]], Any]  # (dir, metrics): a servable copy
    # (dir, optimizer, scheduler, trainer state, fp16 scaler state or None) -> dir
    save_checkpoint: Callable[[Path, Any, Any, dict[str, Any], dict[str, Any] | None], Path]
    load_best: Callable[[Path], Any]  # a saved best dir -> its model (validated after a resume)
    log_lr_as: tuple[str, ...] = ("train/lr",)  # one TensorBoard tag per param group
    # (writer, validation, step): extra TensorBoard output per validation (FP/FN tables)
    log_validation: Callable[[Any, Any, int], None] | None = None
    extra_state: dict[str, Any] = field(default_factory=dict)  # stored in every checkpoint
    # TensorBoard: the model and a small real batch to trace once (None: no graph), and
    # the modules whose weight and gradient histograms are logged at each validation.
    graph: Callable[[], GraphInputs] | None = None
    watch: dict[str, torch.nn.Module] = field(default_factory=dict)


@dataclass
class RunContext:
    """Where a run writes and how its caller follows and stops it."""

    out: Path
    device: torch.device
    resume_dir: Path | None = None  # the checkpoint to continue from
    log_dir: str | Path | None = None  # TensorBoard (None: no logs)
    on_progress: ProgressCallback | None = None  # (step, total, loss) after every step
    should_stop: Callable[[], bool] | None = None  # polled after every step: cancel
    # Polled after every step: checkpoint here and stop, to continue later (the caller's
    # task is out of time); no final validation.
    should_pause: Callable[[], bool] | None = None


@dataclass
class LoopOutcome:
    steps: int
    history: list[dict[str, float]]
    best_step: int
    best_validation: Any  # the best validation, or None when cancelled before validating
    stopped: str  # "completed" | "time_budget" | "cancelled" | "paused"
    last_checkpoint: Path | None
    docs_per_s: float
    averaged_from: int = 0  # the best model averages this many last checkpoints (0: none)


def planned_steps(config: LoopConfig, items: int) -> int:
    """Optimizer steps of the whole run: ``max_steps``, else ``epochs`` over ``items``."""
    micro_per_epoch = math.ceil(items / config.batch_size)
    return config.max_steps or max(
        1, math.ceil(config.epochs * micro_per_epoch / config.grad_accum)
    )


def lr_factor(step: int, total: int, config: LoopConfig) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps."""
    warmup = max(config.warmup_steps, 1)
    s = step + 1
    if config.schedule == "noam":  # PreSumm: min(s^-0.5, s*w^-1.5), peak 1 at s = w
        return min(s**-0.5, s * warmup**-1.5) * math.sqrt(warmup)
    if s <= warmup:
        return s / warmup
    return max(0.0, (total - s) / max(total - warmup, 1))


def selection_value(metrics: dict[str, float], select_by: str) -> float:
    return -metrics["val_loss"] if select_by == "loss" else metrics["val_rouge"]


class TrainingLoop:
    """Train ``task.model`` for ``total`` optimizer steps (see the module docstring).

    ``TrainingLoop(task, config, optimizer, total, run).run(baselines, model_config)``
    returns the outcome and the run's metrics (the best validation's, the ``baselines``
    and the loop's counts); its settings go to TensorBoard's HParams dashboard.
    """

    def __init__(
        self,
        task: LoopTask,
        config: LoopConfig,
        optimizer: torch.optim.Optimizer,
        total: int,
        run: RunContext,
    ) -> None:
        self.task, self.config, self.optimizer, self.total, self.run_context = (
            task,
            config,
            optimizer,
            total,
            run,
        )
        self.ckpt_root = run.out / "checkpoints"
        self.use_scaler = run.device.type == "cuda" and config.precision == "fp16"
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_factor(s, total, config)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_scaler)
        self.writer: Any = None
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.best_value: float | None = None
        self.best_step = -1
        self.best_validation: Any = None
        self.elapsed_before = 0.0
        self.start_time = time.monotonic()
        self.docs_seen = 0
        self.last_ckpt = run.resume_dir
        self.last_eval_step: float = -1  # history steps are floats

    # --- state ------------------------------------------------------------------------

    def _restore(self, resume_dir: Path) -> None:
        state, scaler_state = load_training_state(resume_dir, self.optimizer, self.scheduler)
        if scaler_state:
            self.scaler.load_state_dict(scaler_state)
        self.step = int(state["step"])
        self.history = list(state["history"])
        self.best_value = state["best_value"]
        self.best_step = int(state["best_step"])
        self.elapsed_before = float(state.get("elapsed_s", 0.0))
        self.last_eval_step = self.history[-1]["step"] if self.history else -1

    def _elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.start_time

    def _checkpoint(self) -> None:
        state = {
            "step": self.step,
            "total_steps": self.total,
            "history": self.history,
            "best_value": self.best_value,
            "best_step": self.best_step,
            "elapsed_s": self._elapsed(),
            "train_config": self.config.to_dict(),
            **self.task.extra_state,
        }
        self.last_ckpt = self.task.save_checkpoint(
            step_dir(self.ckpt_root, self.step),
            self.optimizer,
            self.scheduler,
            state,
            self.scaler.state_dict() if self.use_scaler else None,
        )
        keep = max(self.config.keep_checkpoints, self.config.average_checkpoints)
        for old in list_training_checkpoints(self.ckpt_root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)

    def _keep_if_better(self, result: Any, metrics: dict[str, float]) -> bool:
        select_by = self.config.select_by
        if self.best_value is not None and selection_value(result.metrics, select_by) <= (
            self.best_value
        ):
            return False
        self.best_value = selection_value(result.metrics, select_by)
        self.best_step = self.step
        self.best_validation = result
        self.task.save_best(self.run_context.out / "best", metrics)
        return True

    def _evaluate(self) -> None:
        result = self.task.validate(self.task.model)
        metrics = {"step": float(self.step), **result.metrics}
        self.history.append(metrics)
        self.last_eval_step = self.step
        if self.writer is not None:
            for key, value in result.metrics.items():
                self.writer.add_scalar(f"validation/{key.removeprefix('val_')}", value, self.step)
            log_histograms(self.writer, self.task.watch, self.step)
            if self.task.log_validation is not None:
                self.task.log_validation(self.writer, result, self.step)
        self._keep_if_better(result, metrics)

    # --- optimisation -----------------------------------------------------------------

    def _micro_batch(self, micro: int, micro_per_epoch: int) -> list[Any]:
        # A fixed permutation per epoch (seed + epoch): a resumed run sees the same order.
        items, size = self.task.items, self.config.batch_size
        epoch, offset = divmod(micro, micro_per_epoch)
        order = torch.randperm(
            len(items), generator=torch.Generator().manual_seed(self.config.seed + epoch)
        ).tolist()
        return [items[i] for i in order[offset * size : offset * size + size]]

    def _optimizer_step(self) -> None:
        """One optimizer step after gradient accumulation: unscale (fp16), clip, step, reset."""
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.task.model.parameters(), self.config.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()

    def _log_step(self, step_loss: float) -> None:
        if self.writer is not None and self.step % self.config.log_every == 0:
            self.writer.add_scalar("train/loss", step_loss, self.step)
            lrs = self.scheduler.get_last_lr()
            for tag, lr in zip(self.task.log_lr_as, lrs, strict=False):
                self.writer.add_scalar(tag, lr, self.step)
        if self.run_context.on_progress is not None:
            self.run_context.on_progress(self.step, self.total, step_loss)

    def _after_step(self) -> str | None:
        """Validation / checkpoint cadence, time budget and cancel; a stop reason or None."""
        config, max_minutes = self.config, self.config.max_minutes
        out_of_time = max_minutes is not None and self._elapsed() > max_minutes * 60
        if self.step % config.eval_every == 0 or self.step == self.total or out_of_time:
            self._evaluate()
            self._checkpoint()
        elif config.checkpoint_every and self.step % config.checkpoint_every == 0:
            self._checkpoint()
        if out_of_time and self.step < self.total:
            return "time_budget"
        should_stop, should_pause = self.run_context.should_stop, self.run_context.should_pause
        stop = "cancelled" if should_stop is not None and should_stop() else None
        if stop is None and should_pause is not None and self.step < self.total and should_pause():
            stop = "paused"
        if stop is not None and self.last_eval_step != self.step:
            self._checkpoint()
        return stop

    def _train_steps(self) -> str:
        config = self.config
        micro_per_epoch = math.ceil(len(self.task.items) / config.batch_size)
        micro = self.step * config.grad_accum
        running: list[float] = []
        self.task.model.train()
        while self.step < self.total:
            if micro % config.grad_accum == 0:
                # Reset here, not after the step: a validation after a step logs its
                # (unscaled, clipped) gradients.
                self.optimizer.zero_grad(set_to_none=True)
            batch = self._micro_batch(micro, micro_per_epoch)
            loss = self.task.loss(batch)
            self.scaler.scale(loss / config.grad_accum).backward()
            running.append(float(loss.detach()))
            self.docs_seen += len(batch)
            micro += 1
            if micro % config.grad_accum:
                continue
            self._optimizer_step()
            self.step += 1
            step_loss = sum(running) / len(running)
            running.clear()
            self._log_step(step_loss)
            stopped = self._after_step()
            if stopped is not None:
                return stopped
        return "completed"

    # --- the end ----------------------------------------------------------------------

    def _average_checkpoints(self) -> int:
        """Validate the mean weights of the last k checkpoints (k = 2..N); keep one only if
        it beats the best single step (it won 1 of 2 CNN runs). The number averaged, or 0."""
        averaged_from = 0
        tails = list_training_checkpoints(self.ckpt_root)[-self.config.average_checkpoints :]
        model = self.task.model
        for k in range(2, len(tails) + 1):
            model.load_state_dict(average_weights(model, tails[-k:]))
            result = self.task.validate(self.task.model)
            if self.writer is not None:
                for key, value in result.metrics.items():
                    self.writer.add_scalar(f"averaged/{key.removeprefix('val_')}", value, k)
            metrics = {"step": float(self.step), **result.metrics, "averaged_from": k}
            if self._keep_if_better(result, metrics):
                averaged_from = k
        if tails:
            load_model(model, str(tails[-1] / WEIGHTS_NAME))  # back to the last step
        return averaged_from

    def _finish(self, stopped: str) -> LoopOutcome:
        best_dir = self.run_context.out / "best"
        if stopped == "paused":  # the checkpoint is written; the next task goes on from it
            return self._outcome(stopped, 0)
        if stopped != "cancelled" and self.last_eval_step != self.step:
            self._evaluate()
            self._checkpoint()
        if self.best_validation is None and self.best_step >= 0 and best_dir.is_dir():
            # Resumed after the best model was saved: recompute its report from the saved copy.
            self.best_validation = self.task.validate(self.task.load_best(best_dir))
        averaged_from = 0
        if stopped != "cancelled" and self.config.average_checkpoints > 1:
            averaged_from = self._average_checkpoints()
        return self._outcome(stopped, averaged_from)

    def _outcome(self, stopped: str, averaged_from: int) -> LoopOutcome:
        wall = time.monotonic() - self.start_time
        return LoopOutcome(
            steps=self.step,
            history=self.history,
            best_step=self.best_step,
            best_validation=self.best_validation,
            stopped=stopped,
            last_checkpoint=self.last_ckpt,
            docs_per_s=self.docs_seen / wall if wall > 0 else 0.0,
            averaged_from=averaged_from,
        )

    def run(
        self, baselines: dict[str, float], model_config: dict[str, Any]
    ) -> tuple[LoopOutcome, dict[str, float]]:
        if self.run_context.resume_dir is not None:
            self._restore(self.run_context.resume_dir)
        self.writer = open_writer(self.run_context.log_dir)
        if self.step == 0:  # once per run: a resumed run has its graph already
            log_graph(self.writer, self.task.graph)
        self.start_time = time.monotonic()
        try:
            stopped = self._train_steps()
        finally:
            if self.writer is not None:
                self.writer.flush()
        outcome = self._finish(stopped)
        metrics = final_metrics(outcome, baselines)
        if stopped == "paused":  # hparams once, with the final metrics of the whole run
            if self.writer is not None:
                self.writer.close()
        else:
            close_writer(self.writer, self.config, model_config)
        return outcome, metrics


def final_metrics(outcome: LoopOutcome, baselines: dict[str, float]) -> dict[str, float]:
    """The run's metrics: the best validation's, the baselines', and the loop's counts."""
    metrics: dict[str, float] = {}
    if outcome.best_validation is not None:
        metrics.update(outcome.best_validation.metrics)
    metrics.update(baselines)
    metrics.update(
        best_step=float(outcome.best_step),
        steps=float(outcome.steps),
        train_docs_per_s=outcome.docs_per_s,
        averaged_from=float(outcome.averaged_from),
    )
    return metrics
