import json

import pytest
import torch
from safetensors.torch import load_file

from ml import cli
from ml.checkpoints import list_training_checkpoints
from ml.models.bertsumext.train import train
from tests.ml.fixtures.bertsumext import tiny_config, tiny_train_config, toy_examples

EXAMPLES = toy_examples(6, seed=3)


class Crash(Exception):
    pass


def weights(directory):
    return load_file(str(directory / "model.safetensors"))


def test_a_tiny_model_overfits_a_tiny_dataset(tmp_path):
    data = toy_examples(4, seed=1)
    losses = []
    config = tiny_train_config(
        model=tiny_config(ext_dropout=0.0),
        batch_size=4,
        lr=1e-2,
        warmup_steps=5,
        max_steps=60,
        eval_every=60,
    )
    result = train(config, data, data, tmp_path, on_progress=lambda s, t, loss: losses.append(loss))
    assert len(losses) == 60 and result.steps == 60 and result.stopped == "completed"
    assert losses[-1] < 0.25 < 0.5 < losses[0]
    metrics = result.metrics
    assert metrics["val_rouge1"] > metrics["lead3_rouge1"] + 10
    assert metrics["val_rouge1"] > metrics["textrank_rouge1"]


def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path):
    config = tiny_train_config(max_steps=6, eval_every=3)
    full = train(config, EXAMPLES, EXAMPLES[:3], tmp_path / "full")

    def crash_at_5(step, total, loss):
        if step == 5:
            raise Crash

    with pytest.raises(Crash):
        train(config, EXAMPLES, EXAMPLES[:3], tmp_path / "crashed", on_progress=crash_at_5)
    assert [p.name for p in list_training_checkpoints(tmp_path / "crashed" / "checkpoints")] == [
        "step-0000003"
    ]
    resumed = train(config, EXAMPLES, EXAMPLES[:3], tmp_path / "crashed")
    assert resumed.steps == full.steps == 6
    assert resumed.history == full.history
    a, b = weights(full.last_checkpoint), weights(resumed.last_checkpoint)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics["val_loss"] == full.metrics["val_loss"]


def test_a_paused_run_checkpoints_its_step_and_continues_as_if_uninterrupted(tmp_path):
    config = tiny_train_config(max_steps=6, eval_every=3)
    full = train(config, EXAMPLES, EXAMPLES[:3], tmp_path / "full")
    steps: list[int] = []
    paused = train(
        config,
        EXAMPLES,
        EXAMPLES[:3],
        tmp_path / "split",
        on_progress=lambda step, total, loss: steps.append(step),
        should_pause=lambda: steps[-1] == 4,
    )
    # Stopped right after step 4 with a checkpoint of that step, and no final validation.
    assert (paused.stopped, paused.steps) == ("paused", 4)
    assert paused.last_checkpoint is not None and paused.last_checkpoint.name == "step-0000004"
    assert [h["step"] for h in paused.history] == [3.0]
    resumed = train(config, EXAMPLES, EXAMPLES[:3], tmp_path / "split")
    assert (resumed.stopped, resumed.steps) == ("completed", 6)
    assert resumed.history == full.history
    a, b = weights(full.last_checkpoint), weights(resumed.last_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pause_at_the_last_step_completes_the_run(tmp_path):
    config = tiny_train_config(max_steps=2, eval_every=2)
    result = train(config, EXAMPLES, EXAMPLES[:2], tmp_path / "o", should_pause=lambda: True)
    # Pausing after step 1 leaves a step-1 checkpoint; at the last step there is nothing
    # left to continue, so the run completes.
    assert (result.stopped, result.steps) == ("paused", 1)
    done = train(config, EXAMPLES, EXAMPLES[:2], tmp_path / "o", should_pause=lambda: True)
    assert (done.stopped, done.steps) == ("completed", 2) and done.best_dir is not None


def test_result_tensorboard_and_validation_report(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tiny_train_config(max_steps=4, eval_every=2, log_every=1, keep_checkpoints=1)
    result = train(config, EXAMPLES, EXAMPLES[:3], tmp_path / "out", tmp_path / "tb")
    assert result.best_dir == tmp_path / "out" / "best"
    assert (result.best_dir / "model.safetensors").is_file()
    assert [h["step"] for h in result.history] == [2.0, 4.0]
    assert len(list_training_checkpoints(tmp_path / "out" / "checkpoints")) == 1
    for key in ("val_loss", "val_rouge1", "val_rouge2", "lead3_rouge1", "textrank_rouge2"):
        assert key in result.metrics
    # Validation report: every sentence with label, probability and selection; FP/FN agree.
    assert result.validation is not None
    docs = result.validation.documents
    assert [d.id for d in docs] == [e.id for e in EXAMPLES[:3]]
    fps = {(m.document_id, m.index) for m in result.validation.false_positives}
    fns = {(m.document_id, m.index) for m in result.validation.false_negatives}
    for doc, example in zip(docs, EXAMPLES[:3], strict=True):
        assert sum(s.selected for s in doc.sentences) == 3
        for s in doc.sentences:
            assert example.text[s.start : s.end] == s.text
            assert s.probability is not None and 0 <= s.probability <= 1
            assert ((doc.id, s.index) in fps) == (s.selected and s.label == 0)
            assert ((doc.id, s.index) in fns) == (not s.selected and s.label == 1)
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"tensors": 0}).Reload()
    tags = events.Tags()
    assert {"train/loss", "train/lr", "validation/loss", "validation/rouge1"} <= set(
        tags["scalars"]
    )
    assert len(events.Scalars("train/loss")) == 4
    text_tags = set(tags["tensors"])
    assert {
        "validation/false_positives/text_summary",
        "validation/false_negatives/text_summary",
    } <= text_tags


def test_cancel_and_time_budget_stop_cleanly(tmp_path):
    config = tiny_train_config(max_steps=10, eval_every=5)
    cancelled = train(config, EXAMPLES, EXAMPLES[:2], tmp_path / "c", should_stop=lambda: True)
    assert cancelled.stopped == "cancelled" and cancelled.steps == 1
    assert [p.name for p in list_training_checkpoints(tmp_path / "c" / "checkpoints")] == [
        "step-0000001"
    ]
    budget = tiny_train_config(max_steps=10, eval_every=5, max_minutes=1e-6)
    timed = train(budget, EXAMPLES, EXAMPLES[:2], tmp_path / "t")
    assert timed.stopped == "time_budget" and timed.steps == 1
    assert timed.best_dir is not None and timed.validation is not None


def test_train_cli_runs_and_reports_json(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"id": e.id, "article": e.text, "highlights": e.reference}) for e in EXAMPLES
        )
    )
    out = tmp_path / "run"
    status = cli.main(
        [
            "train",
            "--train",
            str(data),
            "--val",
            str(data),
            "--out",
            str(out),
            "--max-steps",
            "2",
            "--eval-every",
            "1",
            "--average-checkpoints",
            "2",
            "--max-pos",
            "64",
            "--batch-size",
            "2",
            "--val-limit",
            "2",
            "--attention-dropout",
            "0",
            "--quiet",
        ]
    )
    assert status == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["steps"] == 2 and result["best_dir"] == str(out / "best")
    assert (out / "best" / "config.json").is_file() and (out / "tensorboard").is_dir()
    assert json.loads((out / "best" / "config.json").read_text())["attention_dropout"] == 0.0
    last = list_training_checkpoints(out / "checkpoints")[-1]
    state = json.loads((last / "trainer_state.json").read_text())["trainer"]
    assert state["train_config"]["average_checkpoints"] == 2
    assert result["metrics"]["averaged_from"] in (0, 2)


@pytest.mark.parametrize("flag", ["--probe-epochs", "--average-checkpoints"])
def test_train_cli_refuses_a_negative_count(tmp_path, capsys, flag):
    args = ["train", "--train", "t.jsonl", "--val", "v.jsonl", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*args, flag, "-1"])
    assert exit_info.value.code == 2
    assert f"{flag}: must not be negative" in capsys.readouterr().err


def test_train_cli_bad_input_is_a_clear_error(tmp_path, capsys):
    status = cli.main(
        [
            "train",
            "--train",
            str(tmp_path / "nope.jsonl"),
            "--val",
            str(tmp_path / "nope.jsonl"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert status == 2
    assert "no such file" in capsys.readouterr().err


def test_all_training_windows_count_every_sentence_once():
    from ml.encoders import load_tokenizer
    from ml.models.bertsumext.features import CUT_MAX_POS, featurize
    from ml.models.bertsumext.model import BertSumExt
    from ml.models.bertsumext.train import training_windows

    config = tiny_config(max_pos=40, window_overlap=1)  # ~3 toy sentences per window
    tokenizer = load_tokenizer("default")
    examples = toy_examples(3, sentences=9, seed=5)

    first, first_report = training_windows(
        featurize(examples, tokenizer, config, True), tokenizer, config
    )
    assert len(first) == 3 and first_report.sentences_cut.get(CUT_MAX_POS, 0) > 0

    docs = featurize(examples, tokenizer, config, True)
    windows, report = training_windows(docs, tokenizer, config, "all")
    assert len(windows) > 3 and CUT_MAX_POS not in report.sentences_cut
    for d, doc in enumerate(docs):
        counted = {}
        for w in (w for w in windows if w.doc == d):
            for k, label in enumerate(w.labels):
                if k < w.score_from:
                    assert label == -1  # left context: shown, not counted
                else:
                    assert w.sentences[k] not in counted
                    counted[w.sentences[k]] = label
        assert counted == {p: doc.labels[i] for p, i in enumerate(doc.scored)}

    # Context labels of -1 leave the loss untouched.
    logits = torch.tensor([[3.0, -1.0, 0.5]])
    mask = torch.tensor([[True, True, True]])
    with_context = BertSumExt.loss(logits, torch.tensor([[-1.0, 0.0, 1.0]]), mask)
    alone = BertSumExt.loss(logits[:, 1:], torch.tensor([[0.0, 1.0]]), mask[:, 1:])
    assert torch.allclose(with_context, alone)


def test_training_on_all_windows_runs_more_steps_per_epoch(tmp_path):
    data = toy_examples(4, sentences=9, seed=2)
    model = tiny_config(max_pos=40, window_overlap=1)
    first = train(
        tiny_train_config(model=model, max_steps=None, epochs=1), data, data[:2], tmp_path / "a"
    )
    every = train(
        tiny_train_config(model=model, max_steps=None, epochs=1, train_windows="all"),
        data,
        data[:2],
        tmp_path / "b",
    )
    assert first.steps == 2 and every.steps > first.steps
    with pytest.raises(ValueError, match="train_windows"):
        tiny_train_config(train_windows="some")
