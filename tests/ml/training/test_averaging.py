"""Checkpoint averaging at the end of a run (``average_checkpoints``), in the shared loop."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_model

from ml.checkpoints import WEIGHTS_NAME, list_training_checkpoints, write_training_state
from ml.models.bertsumext.config import TrainConfig
from ml.models.bertsumext.train import train
from ml.training.averaging import average_weights
from ml.training.loop import LoopTask, RunContext, TrainingLoop
from tests.ml.fixtures.bertsumext import tiny_train_config, toy_examples

EXAMPLES = toy_examples(6, seed=3)


@dataclass
class Scored:
    metrics: dict[str, float]


class Scalar(torch.nn.Module):
    """One weight w (plus an integer buffer, which averaging must carry, not average)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.register_buffer("calls", torch.zeros(1, dtype=torch.long))


def scalar_task(model: Scalar, target: float, saved: dict[Path, dict]) -> LoopTask:
    """Loss -w (constant gradient), so SGD walks w up by the lr schedule; validation
    prefers w close to ``target``."""

    def save(directory: Path, metrics: dict) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        save_model(model, str(directory / WEIGHTS_NAME))
        saved[directory] = metrics
        return directory

    def checkpoint(directory, optimizer, scheduler, state, scaler):
        save(directory, {})
        write_training_state(directory, optimizer, scheduler, state, scaler)
        return directory

    return LoopTask(
        model=model,
        items=[0],
        loss=lambda batch: -model.w.sum(),
        validate=lambda m: Scored(
            {"val_rouge": -float((m.w.detach() - target) ** 2), "val_loss": 0.0}
        ),
        save_best=save,
        save_checkpoint=checkpoint,
        load_best=lambda directory: model,
    )


def run_scalar(tmp_path: Path, average: int, target: float) -> tuple:
    # lr 1, warmup 1, 4 steps, linear decay: factors 1, 2/3, 1/3, 0, so the checkpoints
    # (one per step) hold w = 1, 5/3, 2, 2.
    config = tiny_train_config(
        batch_size=1, lr=1.0, warmup_steps=1, max_steps=4, eval_every=1, keep_checkpoints=1,
        max_grad_norm=10.0, average_checkpoints=average,
    )  # fmt: skip
    model, saved = Scalar(), {}
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    task = scalar_task(model, target, saved)
    run = RunContext(out=tmp_path, device=torch.device("cpu"))
    outcome, metrics = TrainingLoop(task, config, optimizer, 4, run).run({}, {})
    best = load_file(str(tmp_path / "best" / WEIGHTS_NAME))["w"].item()
    return outcome, metrics, best, model, saved


def test_an_average_that_validates_better_becomes_the_best_model(tmp_path):
    # Target 1.8: the best single step is w = 5/3 (step 2); the mean of the last three
    # checkpoints, (5/3 + 2 + 2) / 3 = 1.889, is closer; the last two (2) and four (5/3) are not.
    outcome, metrics, best, model, saved = run_scalar(tmp_path, average=4, target=1.8)
    assert outcome.averaged_from == 3 and metrics["averaged_from"] == 3.0
    assert best == pytest.approx((5 / 3 + 2 + 2) / 3)
    assert metrics["val_rouge"] == pytest.approx(-((best - 1.8) ** 2), rel=1e-5)
    assert saved[tmp_path / "best"]["averaged_from"] == 3
    # The kept checkpoints are the ones averaged (keep_checkpoints=1 is raised to 4) ...
    names = [p.name for p in list_training_checkpoints(tmp_path / "checkpoints")]
    assert names == ["step-0000001", "step-0000002", "step-0000003", "step-0000004"]
    # ... and the model ends at its last step's weights, not at the average.
    assert model.w.item() == pytest.approx(2.0)


def test_no_average_replaces_a_better_single_step(tmp_path):
    # Target 1.6: step 2 (5/3) is closer than the last two (2) or three (1.889) averaged.
    outcome, metrics, best, _, _ = run_scalar(tmp_path, average=3, target=1.6)
    assert outcome.averaged_from == 0 and metrics["averaged_from"] == 0.0
    assert outcome.best_step == 2 and best == pytest.approx(5 / 3)


def test_averaging_is_off_by_default(tmp_path):
    outcome, _, best, _, _ = run_scalar(tmp_path, average=0, target=1.8)
    assert outcome.averaged_from == 0 and outcome.best_step == 2
    assert best == pytest.approx(5 / 3)
    assert len(list_training_checkpoints(tmp_path / "checkpoints")) == 1


def test_average_weights_is_the_mean_of_float_tensors(tmp_path):
    model = Scalar()
    dirs = []
    for i, value in enumerate((1.0, 2.0, 6.0)):
        model.w.data.fill_(value)
        model.calls.fill_(i)
        dirs.append(tmp_path / str(i))
        dirs[-1].mkdir()
        save_model(model, str(dirs[-1] / WEIGHTS_NAME))
    state = average_weights(model, dirs)
    assert state["w"].item() == pytest.approx(3.0) and state["w"].dtype == torch.float32
    assert state["calls"].item() == 2 and state["calls"].dtype == torch.long
    with pytest.raises(ValueError, match="no checkpoints"):
        average_weights(model, [])


def test_bertsumext_training_with_averaging_serves_a_consistent_best(tmp_path):
    config = tiny_train_config(max_steps=6, eval_every=2, keep_checkpoints=1, average_checkpoints=3)
    result = train(config, EXAMPLES, EXAMPLES[:3], tmp_path)
    checkpoints = list_training_checkpoints(tmp_path / "checkpoints")
    assert [p.name for p in checkpoints] == ["step-0000002", "step-0000004", "step-0000006"]
    k = int(result.metrics["averaged_from"])
    assert k in (0, 2, 3)
    best = load_file(str(result.best_dir / WEIGHTS_NAME))
    if k:  # the served model is exactly the mean of the last k checkpoints
        tails = [load_file(str(p / WEIGHTS_NAME)) for p in checkpoints[-k:]]
        expected = {
            n: sum(t[n].float() for t in tails) / k for n in best if best[n].is_floating_point()
        }
    else:  # or the best single step's weights
        step = int(result.metrics["best_step"])
        expected = load_file(str(tmp_path / "checkpoints" / f"step-{step:07d}" / WEIGHTS_NAME))
    for name, tensor in expected.items():
        torch.testing.assert_close(best[name].float(), tensor.float())
    saved = json.loads((result.best_dir / "metrics.json").read_text())
    assert saved["val_rouge"] == pytest.approx(result.metrics["val_rouge"])


def test_negative_average_checkpoints_is_rejected():
    with pytest.raises(ValueError, match="average_checkpoints"):
        TrainConfig(average_checkpoints=-1)
