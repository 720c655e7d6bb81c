import json

import pytest
import torch

from ml import cli
from ml.checkpoints import CheckpointError
from ml.encoders import load_tokenizer
from ml.models.bertsumext.summarizer import Summarizer as BertSumExtSummarizer
from ml.models.matchsum.checkpoint import load_matchsum, save_matchsum
from ml.models.matchsum.features import build_documents
from ml.models.matchsum.model import MatchSum
from ml.models.matchsum.summarizer import Summarizer as MatchSumSummarizer
from ml.models.matchsum.summarizer import score_candidates
from ml.registry import load_system
from tests.ml.fixtures.bertsumext import toy_examples
from tests.ml.fixtures.matchsum import save_tiny_extractor, tiny_match_config

TOK = load_tokenizer("default")


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    return save_tiny_extractor(tmp_path_factory.mktemp("ext") / "model")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MatchSum(tiny_match_config()).eval()


@pytest.fixture(scope="module")
def checkpoint(model, extractor, tmp_path_factory):
    return save_matchsum(model, TOK, tmp_path_factory.mktemp("ms") / "model", extractor)


def test_checkpoint_round_trip_gives_identical_scores(model, extractor, checkpoint):
    assert (checkpoint / "extractor" / "config.json").is_file()
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["architecture"] == "MatchSum" and config["pooling"] == "mean"
    assert not list(checkpoint.rglob("*.bin")) and not list(checkpoint.rglob("*.pt"))
    texts = [ex.text for ex in toy_examples(3, sentences=7)]
    docs = build_documents(
        [type("R", (), {"id": str(i), "text": t})() for i, t in enumerate(texts)],
        BertSumExtSummarizer.load(extractor),
        model.config,
        max_sentences=3,
        rank=False,
    )
    before, _ = score_candidates(model, TOK, docs, texts, batch_size=5)
    # The same batches as above: padding a text differently moves the last bits.
    loaded = MatchSumSummarizer.load(checkpoint, batch_size=5)
    after = [scores for _, scores in loaded.rank(texts)]
    assert after == before  # exactly equal, not just close
    reloaded, _ = load_matchsum(checkpoint)
    for (k, a), (_, b) in zip(
        model.state_dict().items(), reloaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k


def test_summaries_pick_the_best_candidate_without_a_reference(checkpoint):
    summarizer = MatchSumSummarizer.load(checkpoint)
    text = "  " + " ".join(ex.text for ex in toy_examples(2, sentences=8)) + " Ok."
    (summary,), ((doc, scores),) = summarizer.summarize([text]), summarizer.rank([text])
    assert summary.system == "matchsum"
    best = max(range(len(scores)), key=lambda j: scores[j])
    assert [s.index for s in summary.selected] == doc.candidates[best]  # document order
    assert len(scores) == 20 and 2 <= len(summary.selected) <= 3
    extractor_scores = (
        BertSumExtSummarizer.load(checkpoint / "extractor").summarize([text])[0].sentences
    )
    for s, e in zip(summary.sentences, extractor_scores, strict=True):
        assert text[s.start : s.end] == s.text
        assert s.score == e.score  # the extractor's probability for every sentence
    assert summary.sentences[-1].text == "Ok." and not summary.sentences[-1].selected
    assert any("chose candidate" in n for n in summary.notes)
    assert any("not scored" in n for n in summary.notes)
    assert any("first 128 tokens" in n for n in summary.notes)  # ~150 words > 128 tokens
    (short,) = summarizer.summarize([toy_examples(1, sentences=3)[0].text])
    assert not any("first 128 tokens" in n for n in short.notes)


def test_max_sentences_caps_candidate_sizes_and_short_texts_work(checkpoint):
    summarizer = MatchSumSummarizer.load(checkpoint)
    text = toy_examples(1, sentences=8, seed=2)[0].text
    (one,) = summarizer.summarize([text], max_sentences=1)
    assert len(one.selected) == 1
    (two,) = summarizer.summarize([text], max_sentences=2)
    assert len(two.selected) == 2
    single = "The harbor council approved the new bridge on a quiet morning."
    short, empty = summarizer.summarize([single, ""])
    assert [s.selected for s in short.sentences] == [True]
    assert empty.sentences == [] and "no sentences" in " ".join(empty.notes)
    with pytest.raises(TypeError, match="list of strings"):
        summarizer.summarize(single)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_sentences"):
        summarizer.summarize([single], max_sentences=0)


def test_load_system_dispatches_on_the_architecture(checkpoint, extractor, tmp_path):
    assert isinstance(load_system(checkpoint), MatchSumSummarizer)
    assert isinstance(load_system(extractor), BertSumExtSummarizer)
    with pytest.raises(CheckpointError):
        load_system(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"architecture": "MatchSum"}))
    with pytest.raises(CheckpointError, match="not a MatchSum checkpoint"):
        load_system(broken)


def _jsonl(path, examples):
    path.write_text(
        "\n".join(
            json.dumps({"id": e.id, "article": e.text, "highlights": e.reference}) for e in examples
        )
    )
    return path


def test_cli_evaluates_a_matchsum_dir(checkpoint, tmp_path, capsys):
    data = _jsonl(tmp_path / "docs.jsonl", toy_examples(3))
    status = cli.main(["evaluate", "--data", str(data), "--system", str(checkpoint), "--quiet"])
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert result["system"] == "matchsum" and result["n"] == 3
    assert 0 < result["rouge1"] <= 100


def test_cli_trains_matchsum_and_reports_json(extractor, tmp_path, capsys):
    data = _jsonl(tmp_path / "train.jsonl", toy_examples(4, seed=8))
    out = tmp_path / "run"
    argv = ["train", "--model", "matchsum", "--extractor", str(extractor)]
    argv += ["--train", str(data), "--val", str(data), "--out", str(out), "--max-steps", "1"]
    argv += ["--batch-size", "2", "--val-limit", "2", "--pooling", "cls", "--quiet"]
    argv += ["--candidate-k", "4", "--candidate-sizes", "2", "--attention-dropout", "0"]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["model"] == "matchsum" and result["steps"] == 1
    assert result["best_dir"] == str(out / "best")
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["architecture"] == "MatchSum" and config["pooling"] == "cls"
    assert config["candidate_k"] == 4 and config["candidate_sizes"] == [2]
    assert (out / "best" / "extractor" / "model.safetensors").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "needs --extractor"),
        (["--extractor", "{missing}"], "does not exist"),
        (["--extractor", "{extractor}", "--head-lr", "1e-3"], "--head-lr"),
        (["--extractor", "{extractor}", "--train", "{missing}"], "no such file"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(extractor, tmp_path, capsys, extra, message):
    data = _jsonl(tmp_path / "d.jsonl", toy_examples(2))
    argv = ["train", "--model", "matchsum", "--train", str(data), "--val", str(data)]
    argv += ["--out", str(tmp_path / "o"), "--quiet"]
    fill = {"missing": str(tmp_path / "missing"), "extractor": str(extractor)}
    argv += [a.format(**fill) for a in extra]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err


def test_cli_extractor_with_bertsumext_is_an_error(extractor, tmp_path, capsys):
    data = _jsonl(tmp_path / "d.jsonl", toy_examples(2))
    argv = ["train", "--extractor", str(extractor), "--train", str(data), "--val", str(data)]
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    assert "--model matchsum" in capsys.readouterr().err


def test_the_registry_names_the_extractor_protocol_matchsum_uses():
    """The service reads a kind's extractor from the registry: the keyword MatchSum's train
    takes and the folder it copies the extractor to are the registry's."""
    import inspect

    from ml.models.matchsum import checkpoint, train
    from ml.registry import EXTRACTOR_ARGUMENT, EXTRACTOR_DIR, KINDS

    assert KINDS["matchsum"].extractor == "bertsumext"
    assert checkpoint.EXTRACTOR_DIR == EXTRACTOR_DIR
    assert EXTRACTOR_ARGUMENT in inspect.signature(train.check_extractor).parameters
