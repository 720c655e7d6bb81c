"""``sentence_pooling="pooler"`` (BertSumExt) and ``pooling="pooler"`` (MatchSum): each
[CLS] state through the encoder's own pretrained pooler, trained, and a clear error for
an encoder without one."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import DistilBertConfig

from ml import cli
from ml.encoders import packaged_encoder_dir
from ml.models.bertsumext.model import BertSumExt
from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.model import MatchSum
from ml.registry import load_system
from ml.settings import ConfigError
from tests.ml.fixtures.bertsumext import tiny_config, toy_examples
from tests.ml.fixtures.encoders import tiny_bert_config
from tests.ml.models.bertsumext.test_model import make_batch


def tiny_distilbert_config() -> dict:
    """DistilBERT has no pooler layer."""
    return DistilBertConfig(
        vocab_size=30522, dim=32, n_layers=1, n_heads=2, hidden_dim=64, max_position_embeddings=128
    ).to_dict()


def test_pooler_vectors_are_the_cls_states_through_dense_and_tanh():
    torch.manual_seed(0)
    cls_model = BertSumExt(tiny_config(sentence_pooling="cls")).eval()
    pooler_model = BertSumExt(tiny_config(sentence_pooling="pooler")).eval()
    pooler_model.load_state_dict(cls_model.state_dict())
    batch = make_batch((3, 1))
    with torch.no_grad():
        cls = cls_model.sentence_vectors(batch)
        pooled = pooler_model.sentence_vectors(batch)
    dense = cls_model.encoder.pooler.dense
    assert pooled.shape == cls.shape == (2, 3, 32)
    assert torch.allclose(pooled, torch.tanh(dense(cls)), atol=1e-6)
    assert not torch.allclose(pooled, cls)


def test_the_pooler_is_trained_with_the_model():
    torch.manual_seed(0)
    model = BertSumExt(tiny_config(sentence_pooling="pooler")).train()
    batch = make_batch((3, 2))
    batch.labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    BertSumExt.loss(model(batch), batch.labels, batch.sentence_mask).backward()
    grad = model.encoder.pooler.dense.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    # cls pooling leaves the pooler out of the graph (no gradient at all).
    other = BertSumExt(tiny_config(sentence_pooling="cls")).train()
    BertSumExt.loss(other(batch), batch.labels, batch.sentence_mask).backward()
    assert other.encoder.pooler.dense.weight.grad is None


def test_an_encoder_without_a_pooler_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r"model\.sentence_pooling='pooler'.*'distilbert'"):
        BertSumExt(tiny_config(sentence_pooling="pooler", encoder_config=tiny_distilbert_config()))
    with pytest.raises(ConfigError, match=r"model\.pooling='pooler'.*'distilbert'"):
        MatchSum(MatchSumConfig(pooling="pooler", encoder_config=tiny_distilbert_config()))
    # Without the pooler setting the same encoder builds.
    BertSumExt(tiny_config(sentence_pooling="mean", encoder_config=tiny_distilbert_config()))


def test_matchsum_pooler_embeds_the_first_token_through_the_pooler():
    torch.manual_seed(0)
    model = MatchSum(MatchSumConfig(pooling="pooler", encoder_config=tiny_bert_config())).eval()
    ids = torch.randint(1000, 2000, (3, 7))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        top = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        expected = torch.tanh(model.encoder.pooler.dense(top[:, 0]))
        assert torch.allclose(model.embed(ids, mask), expected, atol=1e-6)


def test_the_default_encoder_ships_pooler_weights():
    weights = load_file(str(packaged_encoder_dir() / "model.safetensors"))
    assert weights["pooler.dense.weight"].shape == (384, 384)


def test_cli_trains_pooler_pooling_with_the_default_encoder_and_it_serves(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    examples = toy_examples(4, seed=3)
    data.write_text(
        "\n".join(
            json.dumps({"id": e.id, "article": e.text, "highlights": e.reference}) for e in examples
        )
    )
    out = tmp_path / "run"
    args = ["train", "--train", str(data), "--val", str(data), "--out", str(out)]
    settings = ["--sentence-pooling", "pooler", "--max-steps", "2", "--eval-every", "2"]
    small = ["--max-pos", "64", "--batch-size", "2", "--val-limit", "2", "--quiet"]
    assert cli.main([*args, *settings, *small]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["steps"] == 2
    assert json.loads((out / "best" / "config.json").read_text())["sentence_pooling"] == "pooler"
    trained = load_file(str(out / "best" / "model.safetensors"))
    pretrained = load_file(str(packaged_encoder_dir() / "model.safetensors"))
    assert not torch.equal(
        trained["encoder.pooler.dense.weight"], pretrained["pooler.dense.weight"]
    )
    system = load_system(out)
    (summary,) = system.summarize([examples[0].text], max_sentences=2)
    assert system.model.config.sentence_pooling == "pooler"
    assert len(summary.selected) == 2
