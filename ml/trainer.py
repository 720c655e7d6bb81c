"""The optimisation loop that BertSumExt (``ml.train``) and MatchSum (``ml.matchsum_train``) share.

A model's trainer prepares its data, model and optimizer, then hands the loop a
:class:`LoopTask`: how to turn a micro-batch of training items into a loss, how to
validate, and how to save a checkpoint or the best model. The loop owns everything
else, once: the seeded per-epoch data order, gradient accumulation, clipping, the
schedule, TensorBoard scalars, validation and checkpoint cadence, keeping the best
model, the time budget, cancellation and resuming bit for bit from a checkpoint.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors.torch import load_model

from ml.checkpoint import WEIGHTS_NAME, list_training_checkpoints, load_training_state, step_dir

ProgressCallback = Callable[[int, int, float], None]


class LoopSettings(Protocol):
    """The settings the loop reads (``TrainConfig`` and ``MatchSumTrainConfig`` have them)."""

    batch_size: int
    grad_accum: int
    epochs: float
    max_steps: int | None
    max_minutes: float | None
    max_grad_norm: float
    precision: str
    schedule: str
    warmup_steps: int
    log_every: int
    eval_every: int
    checkpoint_every: int | None
    keep_checkpoints: int
    average_checkpoints: int
    select_by: str
    seed: int

    def to_dict(self) -> dict[str, Any]: ...


class Validation(Protocol):
    """What the loop needs from a validation result (``ml.train.ValidationOutput``)."""

    metrics: dict[str, float]


@dataclass
class LoopTask:
    """The model-specific parts of a training run."""

    model: torch.nn.Module
    items: Sequence[Any]  # training items; a micro-batch is a list of them
    loss: Callable[[list[Any]], torch.Tensor]  # micro-batch -> mean loss (forward inside)
    validate: Callable[[], Any]  # -> a Validation of the model as it is now
    save_best: Callable[[Path, dict[str, float]], Any]  # (dir, metrics): a servable copy
    # (dir, optimizer, scheduler, trainer state, fp16 scaler state or None) -> dir
    save_checkpoint: Callable[[Path, Any, Any, dict[str, Any], dict[str, Any] | None], Path]
    revalidate_best: Callable[[Path], Any]  # validation of a saved best dir (after a resume)
    log_lr_as: tuple[str, ...] = ("train/lr",)  # one TensorBoard tag per param group
    # (writer, validation, step): extra TensorBoard output per validation (FP/FN tables)
    log_validation: Callable[[Any, Any, int], None] | None = None
    extra_state: dict[str, Any] = field(default_factory=dict)  # stored in every checkpoint


@dataclass
class LoopOutcome:
    steps: int
    history: list[dict[str, float]]
    best_step: int
    best_validation: Any  # the best Validation, or None when cancelled before validating
    stopped: str  # "completed" | "time_budget" | "cancelled"
    last_checkpoint: Path | None
    docs_per_s: float
    averaged_from: int = 0  # the best model averages this many last checkpoints (0: none)


def planned_steps(config: LoopSettings, items: int) -> int:
    """Optimizer steps of the whole run: ``max_steps``, else ``epochs`` over ``items``."""
    micro_per_epoch = math.ceil(items / config.batch_size)
    return config.max_steps or max(
        1, math.ceil(config.epochs * micro_per_epoch / config.grad_accum)
    )


def lr_factor(step: int, total: int, config: LoopSettings) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps."""
    warmup = max(config.warmup_steps, 1)
    s = step + 1
    if config.schedule == "noam":  # PreSumm: min(s^-0.5, s*w^-1.5), peak 1 at s = w
        return min(s**-0.5, s * warmup**-1.5) * math.sqrt(warmup)
    if s <= warmup:
        return s / warmup
    return max(0.0, (total - s) / max(total - warmup, 1))


def optimizer_step(
    model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any, max_grad_norm: float
) -> None:
    """One optimizer step after gradient accumulation: unscale (fp16), clip, step, reset."""
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()


def average_weights(model: torch.nn.Module, directories: Sequence[Path]) -> dict[str, torch.Tensor]:
    """The mean of the weights saved in ``directories`` (checkpoints of ``model``'s run).

    Floating-point tensors are averaged in fp32; integer buffers come from the last one.
    ``model``'s own weights are overwritten along the way.
    """
    if not directories:
        raise ValueError("no checkpoints to average")
    sums: dict[str, torch.Tensor] = {}
    for directory in directories:
        load_model(model, str(Path(directory) / WEIGHTS_NAME))
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                sums[name] = tensor.clone()
            elif name in sums:
                sums[name] += tensor.float()
            else:
                sums[name] = tensor.float().clone()
    reference = model.state_dict()
    return {
        name: (t / len(directories)).to(reference[name].dtype) if t.is_floating_point() else t
        for name, t in sums.items()
    }


def selection_value(metrics: dict[str, float], select_by: str) -> float:
    return -metrics["val_loss"] if select_by == "loss" else metrics["val_rouge"]


def is_better(metrics: dict[str, float], best: float | None, select_by: str) -> bool:
    return best is None or selection_value(metrics, select_by) > best


def open_writer(log_dir: str | Path | None) -> Any:
    if log_dir is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def train_task(
    task: LoopTask,
    config: LoopSettings,
    optimizer: torch.optim.Optimizer,
    total: int,
    out: Path,
    device: torch.device,
    resume_dir: Path | None,
    log_dir: str | Path | None,
    on_progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
    baselines: dict[str, float],
    model_config: dict[str, Any],
) -> tuple[LoopOutcome, dict[str, float]]:
    """Train ``task.model`` for ``total`` optimizer steps (see the module docstring).

    Returns the loop's outcome and the run's metrics (the best validation's, the
    ``baselines`` and the loop's counts), which also go to TensorBoard as hparams.
    """
    writer = open_writer(log_dir)
    ckpt_root = out / "checkpoints"
    use_scaler = device.type == "cuda" and config.precision == "fp16"
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, config))
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    step = 0
    history: list[dict[str, float]] = []
    best_value: float | None = None
    best_step = -1
    elapsed_before = 0.0
    if resume_dir is not None:
        state, scaler_state = load_training_state(resume_dir, optimizer, scheduler)
        if scaler_state:
            scaler.load_state_dict(scaler_state)
        step = int(state["step"])
        history = list(state["history"])
        best_value = state["best_value"]
        best_step = int(state["best_step"])
        elapsed_before = float(state.get("elapsed_s", 0.0))

    start_time = time.monotonic()
    docs_seen = 0
    stopped = "completed"
    best_validation: Any = None
    last_ckpt = resume_dir
    last_eval_step = history[-1]["step"] if history else -1

    def checkpoint() -> None:
        nonlocal last_ckpt
        state = {
            "step": step,
            "total_steps": total,
            "history": history,
            "best_value": best_value,
            "best_step": best_step,
            "elapsed_s": elapsed_before + time.monotonic() - start_time,
            "train_config": config.to_dict(),
            **task.extra_state,
        }
        last_ckpt = task.save_checkpoint(
            step_dir(ckpt_root, step),
            optimizer,
            scheduler,
            state,
            scaler.state_dict() if use_scaler else None,
        )
        keep = max(config.keep_checkpoints, config.average_checkpoints)
        for old in list_training_checkpoints(ckpt_root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)

    def evaluate_now() -> None:
        nonlocal best_value, best_step, best_validation, last_eval_step
        result = task.validate()
        metrics = {"step": float(step), **result.metrics}
        history.append(metrics)
        last_eval_step = step
        if writer is not None:
            for key, value in result.metrics.items():
                writer.add_scalar(f"validation/{key.removeprefix('val_')}", value, step)
            if task.log_validation is not None:
                task.log_validation(writer, result, step)
        if is_better(result.metrics, best_value, config.select_by):
            best_value = selection_value(result.metrics, config.select_by)
            best_step = step
            best_validation = result
            task.save_best(out / "best", metrics)

    items = task.items
    micro_per_epoch = math.ceil(len(items) / config.batch_size)
    task.model.train()
    micro = step * config.grad_accum
    running: list[float] = []
    try:
        while step < total:
            # A fixed permutation per epoch (seed + epoch): a resumed run sees the same order.
            epoch, offset = divmod(micro, micro_per_epoch)
            order = torch.randperm(
                len(items), generator=torch.Generator().manual_seed(config.seed + epoch)
            ).tolist()
            start = offset * config.batch_size
            batch = [items[i] for i in order[start : start + config.batch_size]]
            loss = task.loss(batch)
            scaler.scale(loss / config.grad_accum).backward()
            running.append(float(loss.detach()))
            docs_seen += len(batch)
            micro += 1
            if micro % config.grad_accum:
                continue
            optimizer_step(task.model, optimizer, scheduler, scaler, config.max_grad_norm)
            step += 1
            step_loss = sum(running) / len(running)
            running.clear()
            if writer is not None and step % config.log_every == 0:
                writer.add_scalar("train/loss", step_loss, step)
                for tag, lr in zip(task.log_lr_as, scheduler.get_last_lr(), strict=False):
                    writer.add_scalar(tag, lr, step)
            if on_progress is not None:
                on_progress(step, total, step_loss)
            out_of_time = (
                config.max_minutes is not None
                and elapsed_before + time.monotonic() - start_time > config.max_minutes * 60
            )
            if step % config.eval_every == 0 or step == total or out_of_time:
                evaluate_now()
                checkpoint()
            elif config.checkpoint_every and step % config.checkpoint_every == 0:
                checkpoint()
            if out_of_time and step < total:
                stopped = "time_budget"
                break
            if should_stop is not None and should_stop():
                if last_eval_step != step:
                    checkpoint()
                stopped = "cancelled"
                break
    finally:
        if writer is not None:
            writer.flush()

    if stopped != "cancelled" and last_eval_step != step:
        evaluate_now()
        checkpoint()
    if best_validation is None and best_step >= 0 and (out / "best").is_dir():
        # Resumed after the best model was saved: recompute its report from the saved copy.
        best_validation = task.revalidate_best(out / "best")
    wall = time.monotonic() - start_time
    # Checkpoint averaging: the mean weights of the last k checkpoints (k = 2..N) can
    # validate better than any one of them (1 of 2 CNN runs); keep one only if it does.
    averaged_from = 0
    if stopped != "cancelled" and config.average_checkpoints > 1:
        tails = list_training_checkpoints(ckpt_root)[-config.average_checkpoints :]
        for k in range(2, len(tails) + 1):
            task.model.load_state_dict(average_weights(task.model, tails[-k:]))
            result = task.validate()
            if writer is not None:
                for key, value in result.metrics.items():
                    writer.add_scalar(f"averaged/{key.removeprefix('val_')}", value, k)
            if is_better(result.metrics, best_value, config.select_by):
                best_value = selection_value(result.metrics, config.select_by)
                best_validation, best_step, averaged_from = result, step, k
                task.save_best(
                    out / "best", {"step": float(step), **result.metrics, "averaged_from": k}
                )
        if tails:
            load_model(task.model, str(tails[-1] / WEIGHTS_NAME))  # back to the last step
    outcome = LoopOutcome(
        steps=step,
        history=history,
        best_step=best_step,
        best_validation=best_validation,
        stopped=stopped,
        last_checkpoint=last_ckpt,
        docs_per_s=docs_seen / wall if wall > 0 else 0.0,
        averaged_from=averaged_from,
    )
    metrics = final_metrics(outcome, baselines)
    close_writer(writer, config, model_config, metrics)
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


def close_writer(
    writer: Any, config: LoopSettings, model_config: dict[str, Any], metrics: dict[str, float]
) -> None:
    """Log the run's settings as TensorBoard hparams with its final metrics, then close."""
    if writer is None:
        return
    scalar = int | float | str | bool
    hparams = {k: v for k, v in config.to_dict().items() if isinstance(v, scalar)}
    hparams.update({f"model_{k}": v for k, v in model_config.items() if isinstance(v, scalar)})
    writer.add_hparams(hparams, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=".")
    writer.close()
