import json

import pytest
import torch

from ml import cli
from ml.checkpoints import CheckpointError
from ml.encoders import load_tokenizer
from ml.models.bertsumext.checkpoint import load_pretrained, save_pretrained
from ml.models.bertsumext.features import features_from_texts
from ml.models.bertsumext.model import BertSumExt
from ml.models.bertsumext.summarizer import Summarizer, score_features
from tests.ml.fixtures.bertsumext import tiny_config, toy_examples

TOK = load_tokenizer("default")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return BertSumExt(tiny_config()).eval()


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory):
    return save_pretrained(model, TOK, tmp_path_factory.mktemp("ckpt") / "model")


def test_checkpoint_round_trip_gives_identical_scores(model, checkpoint):
    assert sorted(p.name for p in checkpoint.iterdir()) >= ["config.json", "model.safetensors"]
    assert not list(checkpoint.glob("*.bin")) and not list(checkpoint.glob("*.pt"))
    texts = [ex.text for ex in toy_examples(3, sentences=7)]
    docs = features_from_texts(texts, TOK, model.config)
    before = score_features(model, TOK, docs, batch_size=2)
    # Same batches as above: other paddings may change the last bits on some CPUs.
    loaded = Summarizer.load(checkpoint, "cpu", batch_size=2)
    after = [[s.score for s in summary.sentences] for summary in loaded.summarize(texts)]
    assert after == before  # exactly equal, not just close
    reloaded, _ = load_pretrained(checkpoint)
    for (k, a), (_, b) in zip(
        model.state_dict().items(), reloaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k


def test_summaries_have_offsets_scores_and_document_order(checkpoint):
    text = "  " + " ".join(ex.text for ex in toy_examples(2, sentences=5)) + " Ok."
    (summary,) = Summarizer.load(checkpoint).summarize([text], max_sentences=3)
    assert summary.system == "bertsumext"
    assert len(summary.selected) == 3
    assert [s.index for s in summary.sentences] == list(range(len(summary.sentences)))
    for s in summary.sentences:
        assert text[s.start : s.end] == s.text
        assert 0.0 <= s.score <= 1.0
    short = summary.sentences[-1]
    assert short.text == "Ok." and short.score == 0.0 and not short.selected
    assert any("not scored" in note for note in summary.notes)
    ranked = sorted(summary.sentences, key=lambda s: -s.score)
    assert {s.index for s in summary.selected} <= {s.index for s in ranked[:5]}


def test_long_documents_are_scored_whole_in_windows(model, tmp_path):
    text = " ".join(ex.text for ex in toy_examples(4, sentences=8))  # ~32 sentences > 128 tokens
    ckpt = save_pretrained(model, TOK, tmp_path / "m")
    (whole,) = Summarizer.load(ckpt).summarize([text])
    (cut,) = Summarizer.load(ckpt, long_documents="truncate").summarize([text])
    assert all(s.score > 0 for s in whole.sentences)
    assert [s.score for s in cut.sentences][-5:] == [0.0] * 5
    assert any("beyond max_pos" in note for note in cut.notes)
    assert not any("beyond max_pos" in note for note in whole.notes)


def test_bad_input_gets_clear_errors(checkpoint, tmp_path):
    summarizer = Summarizer.load(checkpoint)
    with pytest.raises(TypeError, match="list of strings"):
        summarizer.summarize("one text")  # type: ignore[arg-type]
    (empty,) = summarizer.summarize([""])
    assert empty.sentences == [] and "no sentences" in empty.notes[0]
    with pytest.raises(CheckpointError, match="not a BertSumExt checkpoint"):
        Summarizer.load(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        Summarizer.load(tmp_path / "missing")


def test_cli_evaluates_a_checkpoint_like_a_baseline(checkpoint, tmp_path, capsys):
    data = tmp_path / "docs.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"id": e.id, "article": e.text, "highlights": e.reference})
            for e in toy_examples(3)
        )
    )
    status = cli.main(["evaluate", "--data", str(data), "--system", str(checkpoint), "--quiet"])
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert result["system"] == "bertsumext" and result["n"] == 3
    assert 0 < result["rouge1"] <= 100
