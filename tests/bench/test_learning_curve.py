"""bench.learning_curve on a tiny synthetic domain and a tiny random model, so it cannot rot:
the documents go through the service's training path and every size is measured."""

import json
import random
from pathlib import Path

import pytest

from bench import learning_curve
from jobs.models import Document, ModelVersion, TrainingRun
from tests.jobs.training_fixtures import tiny_params
from tests.ml.fixtures.bertsumext import sentence, tiny_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def training_dirs(settings, tmp_path):
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    settings.TRAINING_DEVICE = "cpu"


def write_domain(path: Path, documents: int, sentences: int = 8) -> Path:
    """Documents whose reference is their second and third sentences (not Lead-3's)."""
    rng = random.Random(0)
    with path.open("w") as f:
        for i in range(documents):
            sents = [sentence(rng) for _ in range(sentences)]
            reference = "\n".join(sents[1:3])
            record = {"id": f"d{i}", "article": " ".join(sents), "highlights": reference}
            f.write(json.dumps(record) + "\n")
    return path


def curve_args(tmp_path, *extra: str):
    params = {k: v for k, v in tiny_params().items() if k != "model"}
    params.pop("max_steps")
    params.pop("eval_every")
    return learning_curve.parse_args(
        [
            "--data",
            str(write_domain(tmp_path / "domain.jsonl", 20)),
            "--heldout",
            "6",
            "--val-docs",
            "3",
            "--max-doc-sentences",
            "6",
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--resamples",
            "50",
            "--params",
            json.dumps(params),
            "--out",
            str(tmp_path / "out"),
            *extra,
        ]
    )


def test_each_size_is_trained_through_the_service_from_the_active_start(tmp_path, capsys):
    start = tiny_checkpoint(tmp_path / "start")
    args = curve_args(tmp_path, "--start", str(start), "--sizes", "0", "4", "8", "50")
    results = learning_curve.run_curve(args, learning_curve.load_domain(args))

    rows = {r["system"]: r for r in results["rows"]}
    assert list(rows) == [
        "lead3",
        "start",
        "textrank",
        "start + 4 docs",
        "start + 8 docs",
        "start + 50 docs",
    ]
    assert rows["start + 50 docs"]["skipped"] == "only 11 training documents"
    for name in ("start + 4 docs", "start + 8 docs"):
        r = rows[name]
        assert r["status"] == "succeeded" and r["n"] == 6 and r["steps"] >= 1
        for other in ("lead3", "start"):
            lo, hi = r[f"vs_{other}"]["rouge"]["ci95"]
            assert lo <= r[f"vs_{other}"]["rouge"]["difference"] <= hi
    assert rows["start"]["vs_lead3"] and "vs_start" not in rows["start"]
    assert rows["lead3"]["vs_start"]["rouge"]["difference"] == pytest.approx(
        -rows["start"]["vs_lead3"]["rouge"]["difference"]
    )

    # Fine-tuned from the promoted start; each run saw its size's documents only.
    start_version = ModelVersion.objects.get(run=None)
    runs = list(TrainingRun.objects.order_by("pk"))
    assert [r.parent_version_id for r in runs] == [start_version.pk] * 2
    assert all(r.params["init_from"] == start_version.checkpoint_dir for r in runs)
    assert [r.data_summary["train_documents"] for r in runs] == [4, 8]
    assert Document.objects.filter(split="validation").count() == 3
    assert not any(Path(r.out_dir).exists() for r in runs)  # checkpoints removed

    out = capsys.readouterr().out.splitlines()
    json_lines = [json.loads(line) for line in out if line.startswith("{")]
    assert [line["system"] for line in json_lines] == list(rows)


def test_without_a_start_each_size_trains_from_the_encoder(tmp_path):
    args = curve_args(tmp_path, "--sizes", "0", "4")
    args.params["model"] = tiny_params()["model"]
    results = learning_curve.run_curve(args, learning_curve.load_domain(args))
    assert [r["system"] for r in results["rows"]] == ["lead3", "textrank", "encoder + 4 docs"]
    assert "vs_start" not in results["rows"][-1] and results["rows"][-1]["status"] == "succeeded"


def test_documents_are_cut_the_same_way_for_every_system(tmp_path):
    args = curve_args(tmp_path)
    pool, val, heldout = learning_curve.load_domain(args)
    assert (len(pool), len(val), len(heldout)) == (11, 3, 6)
    assert [e.id for e in heldout] == [f"d{i}" for i in range(14, 20)]
    for example in pool + val + heldout:
        assert len(learning_curve.split_sentences(example.text)) == 6


def test_too_few_documents_is_a_message_and_nothing_is_written(tmp_path, capsys):
    args = curve_args(tmp_path)
    argv = ["--data", args.data, "--heldout", "18", "--val-docs", "5", "--out", args.out]
    assert learning_curve.main(argv) == 2
    assert "20 documents: not enough for 18 held-out" in capsys.readouterr().err
    assert not Path(args.out).exists()
