import pytest
import torch
from safetensors.torch import load_file

from ml.checkpoints import list_training_checkpoints
from ml.encoders import load_tokenizer
from ml.models.bertsumext.summarizer import Summarizer as BertSumExtSummarizer
from ml.models.matchsum.features import build_documents
from ml.models.matchsum.model import MatchSum
from ml.models.matchsum.train import train as train_matchsum
from ml.models.matchsum.train import validate as validate_matchsum
from ml.text.data import Example
from tests.ml.fixtures.bertsumext import toy_examples
from tests.ml.fixtures.matchsum import (
    keyed_examples,
    save_tiny_extractor,
    tiny_match_config,
    tiny_match_train_config,
)

EXAMPLES = toy_examples(6, seed=3)


class Crash(Exception):
    pass


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    return save_tiny_extractor(tmp_path_factory.mktemp("ext") / "model")


def weights(directory):
    return load_file(str(directory / "model.safetensors"))


def test_a_tiny_model_learns_to_prefer_the_gold_like_candidate(extractor, tmp_path):
    # Held-out documents: two key sentences (the reference) use one half of the
    # vocabulary, the others the other half. Untrained, the model never ranks the key
    # pair first; trained, it does on most unseen documents.
    train_docs, val_docs = keyed_examples(16, seed=1), keyed_examples(8, seed=2)
    config = tiny_match_train_config(
        model=tiny_match_config(pooling="cls"),
        batch_size=4,
        max_steps=60,
        eval_every=60,
        warmup_steps=5,
    )
    cfg = config.model
    torch.manual_seed(config.seed)
    untrained = MatchSum(tiny_match_config(pooling="cls"))
    docs = build_documents(val_docs, BertSumExtSummarizer.load(extractor), cfg, max_sentences=3)
    before = validate_matchsum(
        untrained, load_tokenizer("default"), docs, val_docs, torch.device("cpu"), config
    )
    losses = []
    result = train_matchsum(
        config,
        train_docs,
        val_docs,
        tmp_path,
        extractor_dir=extractor,
        on_progress=lambda s, t, loss: losses.append(loss),
    )
    assert result.stopped == "completed" and result.steps == 60
    assert losses[-1] < losses[0] / 4
    assert before.metrics["val_top1"] <= 0.25
    assert result.metrics["val_top1"] >= 0.75
    assert result.metrics["val_rouge1"] > before.metrics["val_rouge1"] + 20
    assert result.metrics["val_rouge1"] > result.metrics["bertsumext_rouge1"]


def test_resume_after_a_crash_matches_an_uninterrupted_run(extractor, tmp_path):
    config = tiny_match_train_config(max_steps=6, eval_every=3)
    full = train_matchsum(
        config, EXAMPLES, EXAMPLES[:3], tmp_path / "full", extractor_dir=extractor
    )

    def crash_at_5(step, total, loss):
        if step == 5:
            raise Crash

    with pytest.raises(Crash):
        train_matchsum(
            config,
            EXAMPLES,
            EXAMPLES[:3],
            tmp_path / "crashed",
            on_progress=crash_at_5,
            extractor_dir=extractor,
        )
    ckpts = list_training_checkpoints(tmp_path / "crashed" / "checkpoints")
    assert [p.name for p in ckpts] == ["step-0000003"]
    # Resuming needs no extractor_dir: the run kept its own copy.
    resumed = train_matchsum(config, EXAMPLES, EXAMPLES[:3], tmp_path / "crashed")
    assert resumed.steps == full.steps == 6
    assert resumed.history == full.history
    a, b = weights(full.last_checkpoint), weights(resumed.last_checkpoint)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_result_report_checkpoints_and_tensorboard(extractor, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    val = EXAMPLES[:3]
    config = tiny_match_train_config(max_steps=4, eval_every=2, keep_checkpoints=1)
    result = train_matchsum(
        config, EXAMPLES, val, tmp_path / "out", tmp_path / "tb", extractor_dir=extractor
    )
    best = tmp_path / "out" / "best"
    assert result.best_dir == best
    assert (best / "model.safetensors").is_file() and (best / "metrics.json").is_file()
    assert (best / "extractor" / "model.safetensors").is_file()  # self-contained
    assert not list(best.rglob("*.bin")) and not list(best.rglob("*.pt"))
    assert [h["step"] for h in result.history] == [2.0, 4.0]
    assert len(list_training_checkpoints(tmp_path / "out" / "checkpoints")) == 1
    for key in (
        "val_loss",
        "val_rouge",
        "val_rouge1",
        "val_rouge2",
        "val_rougeLsum",
        "val_top1",
        "lead3_rouge1",
        "textrank_rouge2",
        "bertsumext_rouge1",
        "best_step",
        "steps",
        "train_docs_per_s",
    ):
        assert key in result.metrics, key
    assert result.data.used == 6 and result.data.sentences_cut == {"pruned": 6}
    report = result.validation
    assert report is not None and [d.id for d in report.documents] == [e.id for e in val]
    fps = {(m.document_id, m.index) for m in report.false_positives}
    fns = {(m.document_id, m.index) for m in report.false_negatives}
    for doc, example in zip(report.documents, val, strict=True):
        assert 2 <= sum(s.selected for s in doc.sentences) <= 3
        assert sum(s.cut_reason == "pruned" for s in doc.sentences) == 1  # 6 sentences, top 5
        for s in doc.sentences:
            assert example.text[s.start : s.end] == s.text
            assert s.label is not None and s.probability is not None
            assert not (s.cut_reason and s.selected)
            assert ((doc.id, s.index) in fps) == (s.selected and s.label == 0)
            assert ((doc.id, s.index) in fns) == (not s.selected and s.label == 1)
    events = EventAccumulator(
        str(tmp_path / "tb"), size_guidance={"tensors": 0, "histograms": 0}
    ).Reload()
    assert {"train/loss", "validation/rouge1", "validation/top1"} <= set(events.Tags()["scalars"])
    histograms = set(events.Tags()["histograms"])
    assert "weights/encoder_top/output.dense.weight" in histograms
    assert "gradients/encoder_top/output.dense.weight" in histograms


def test_unusable_documents_are_reported_and_cancel_stops_cleanly(extractor, tmp_path):
    one_sentence = Example("short", "Only one sentence here for the model to read.", "A summary.")
    no_reference = Example("bare", EXAMPLES[0].text, "")
    data = [*EXAMPLES[:3], one_sentence, no_reference]
    config = tiny_match_train_config(max_steps=10, eval_every=5)
    result = train_matchsum(
        config,
        data,
        EXAMPLES[:2],
        tmp_path / "c",
        should_stop=lambda: True,
        extractor_dir=extractor,
    )
    assert result.stopped == "cancelled" and result.steps == 1
    assert result.data.skipped == {
        "too_few_candidates": ["short"],
        "no_reference_or_labels": ["bare"],
    }
    assert result.data.used == 3


def test_a_missing_or_different_extractor_is_a_clear_error(extractor, tmp_path):
    config = tiny_match_train_config(max_steps=2, eval_every=2)
    with pytest.raises(ValueError, match="extractor_dir is required"):
        train_matchsum(config, EXAMPLES, EXAMPLES[:2], tmp_path / "a")
    train_matchsum(
        config,
        EXAMPLES,
        EXAMPLES[:2],
        tmp_path / "b",
        extractor_dir=extractor,
        should_stop=lambda: True,
    )
    other = save_tiny_extractor(tmp_path / "other", seed=1)
    with pytest.raises(ValueError, match="different extractor"):
        train_matchsum(config, EXAMPLES, EXAMPLES[:2], tmp_path / "b", extractor_dir=other)
