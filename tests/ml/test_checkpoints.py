"""Checkpoints written before the re-layering still load; training output dirs load too.

The old directories are written here by hand, file by file, exactly as the old
``ml/checkpoint.py`` and ``ml/matchsum_checkpoint.py`` wrote them (not through the
new writer): config.json = {"architecture", "format_version": 1, ...config fields}
(sorted, indent 2), model.safetensors (safetensors ``save_model``, metadata
format=pt), the tokenizer files, metrics.json, training_state.safetensors +
trainer_state.json in training checkpoints, and MatchSum's ``extractor/`` copy.
"""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file, save_model

from ml import cli
from ml.checkpoints import list_training_checkpoints, resolve_model_dir
from ml.encoders import load_tokenizer
from ml.models.bertsumext.config import BertSumExtConfig
from ml.models.bertsumext.model import BertSumExt
from ml.models.bertsumext.summarizer import Summarizer as BertSumExtSummarizer
from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.model import MatchSum
from ml.models.matchsum.summarizer import Summarizer as MatchSumSummarizer
from ml.registry import load_system
from tests.ml.fixtures.bertsumext import toy_examples
from tests.ml.fixtures.encoders import tiny_bert_config

TOK = load_tokenizer("default")
TEXTS = [e.text for e in toy_examples(2, seed=5)]

# The config.json keys of a BertSumExt checkpoint before the change (ml.bertsumext).
OLD_BERTSUMEXT_KEYS = {
    "encoder": "all-MiniLM-L6-v2",
    "max_pos": 128,
    "attention_dropout": None,
    "ext_layers": 2,
    "ext_heads": 2,
    "ext_ff_size": 64,
    "ext_dropout": 0.1,
    "sentence_pooling": "cls",
    "min_sentence_tokens": 5,
    "max_sentence_tokens": 200,
    "max_train_sentences": 100,
    "min_train_sentences": 3,
    "oracle_sentences": 3,
    "long_documents": "windows",
    "window_overlap": 3,
    "language": None,
}
OLD_MATCHSUM_KEYS = {
    "encoder": "all-MiniLM-L6-v2",
    "pooling": "mean",
    "attention_dropout": None,
    "max_doc_tokens": 128,
    "max_candidate_tokens": 64,
    "candidate_k": 4,
    "candidate_sizes": [2, 3],
    "margin": 0.01,
    "gold_margin": 0.0,
    "gold_weight": 1.0,
    "oracle_sentences": 3,
}


def _write_old_model_dir(directory: Path, architecture: str, keys: dict, model) -> Path:
    directory.mkdir(parents=True)
    config = {"architecture": architecture, "format_version": 1, **keys}
    config["encoder_config"] = model.config.encoder_config
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    save_model(model, str(directory / "model.safetensors"), metadata={"format": "pt"})
    TOK.save_pretrained(str(directory))
    (directory / "metrics.json").write_text(json.dumps({"val_rouge": 1.0}, indent=2))
    return directory


def _old_bertsumext(directory: Path) -> tuple[Path, BertSumExt]:
    torch.manual_seed(0)
    model = BertSumExt(
        BertSumExtConfig(
            **{k: v for k, v in OLD_BERTSUMEXT_KEYS.items() if k != "encoder"},
            encoder_config=tiny_bert_config(),
        )
    ).eval()
    return _write_old_model_dir(directory, "BertSumExt", OLD_BERTSUMEXT_KEYS, model), model


def _old_training_run(out: Path, write_best) -> Path:
    """A training output dir as the old trainer left it: best/ and checkpoints/step-N."""
    best = write_best(out / "best")
    step = out / "checkpoints" / "step-0000002"
    step.parent.mkdir(parents=True)
    write_best(step)
    save_file({"rng.cpu": torch.get_rng_state()}, str(step / "training_state.safetensors"))
    state = {"trainer": {"step": 2, "history": []}, "optimizer": {}, "scheduler": {}}
    (step / "trainer_state.json").write_text(json.dumps({**state, "scaler": None}, indent=2))
    assert list_training_checkpoints(out / "checkpoints") == [step]
    return best


def test_an_old_bertsumext_checkpoint_loads_and_scores_the_same(tmp_path):
    directory, model = _old_bertsumext(tmp_path / "old")
    system = load_system(directory)
    assert isinstance(system, BertSumExtSummarizer)
    assert system.model.config.sentence_pooling == "cls"
    assert system.model.config.attention_dropout is None
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, system.model.state_dict()[name]), name
    assert len(system.summarize(TEXTS)) == 2


def test_an_old_matchsum_checkpoint_loads_with_its_extractor(tmp_path):
    extractor, _ = _old_bertsumext(tmp_path / "extractor-source")

    def write(directory: Path) -> Path:
        torch.manual_seed(1)
        config = MatchSumConfig(
            **{k: v for k, v in OLD_MATCHSUM_KEYS.items() if k != "encoder"},
            encoder_config=tiny_bert_config(),
        )
        model = MatchSum(config).eval()
        _write_old_model_dir(directory, "MatchSum", OLD_MATCHSUM_KEYS, model)
        (directory / "extractor").mkdir()
        for item in extractor.iterdir():
            (directory / "extractor" / item.name).write_bytes(item.read_bytes())
        return directory

    best = _old_training_run(tmp_path / "run", write)
    system = load_system(best)
    assert isinstance(system, MatchSumSummarizer)
    assert system.model.config.candidate_k == 4
    assert len(system.summarize(TEXTS)) == 2
    # The training output dir itself: load_system reads its best/.
    assert isinstance(load_system(tmp_path / "run"), MatchSumSummarizer)


def test_a_training_output_dir_is_a_system(tmp_path, capsys):
    best = _old_training_run(tmp_path / "run", lambda d: _old_bertsumext(d)[0])
    assert resolve_model_dir(tmp_path / "run") == best
    assert resolve_model_dir(best) == best
    assert isinstance(load_system(tmp_path / "run"), BertSumExtSummarizer)
    data = tmp_path / "data.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"id": e.id, "article": e.text, "highlights": e.reference})
            for e in toy_examples(2, seed=5)
        )
    )
    argv = ["evaluate", "--data", str(data), "--system", str(tmp_path / "run"), "--quiet"]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["system"] == "bertsumext" and result["n"] == 2


def test_a_directory_without_a_model_is_still_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is not a BertSumExt checkpoint"):
        load_system(tmp_path / "empty")


# --- languages and splitter version (issue #23) ----------------------------------------


def test_a_new_checkpoint_records_its_languages_and_splitter_version(tmp_path):
    from ml.checkpoints import read_language_coverage, read_splitter_version
    from ml.text.sentences import SPLITTER_VERSION
    from tests.ml.fixtures.bertsumext import tiny_checkpoint

    directory = tiny_checkpoint(tmp_path / "new")
    stored = json.loads((directory / "config.json").read_text())
    assert stored["splitter_version"] == SPLITTER_VERSION
    assert stored["languages"]["covered"] == ["en"]
    assert stored["languages"]["measured"]["ko"]["characters_per_token"] < 1
    assert read_splitter_version(directory) == SPLITTER_VERSION
    coverage = read_language_coverage(directory)
    assert coverage.reads("en") and not coverage.reads("ko")
    # The recorded facts are not model settings: the checkpoint still loads.
    assert isinstance(load_system(directory), BertSumExtSummarizer)


def test_the_stored_measurement_is_what_is_read(tmp_path):
    from ml.checkpoints import read_language_coverage
    from tests.ml.fixtures.bertsumext import tiny_checkpoint

    directory = tiny_checkpoint(tmp_path / "new")
    config = json.loads((directory / "config.json").read_text())
    config["languages"]["covered"] = ["en", "ko"]
    (directory / "config.json").write_text(json.dumps(config))
    assert read_language_coverage(directory).reads("ko")


def test_an_old_checkpoint_is_measured_from_its_tokenizer_when_loaded(tmp_path):
    from ml.checkpoints import read_language_coverage, read_splitter_version

    directory, _ = _old_bertsumext(tmp_path / "old")
    assert "languages" not in json.loads((directory / "config.json").read_text())
    coverage = read_language_coverage(directory)
    assert coverage.covered == ("en",)
    assert not coverage.reads("ko")
    assert read_splitter_version(directory) == 1  # saved before versions were recorded
