import pytest
import torch

from ml.models.bertsumext.config import BertSumExtConfig
from ml.models.bertsumext.model import (
    BertSumExt,
    ExtBatch,
    mean_pool_sentences,
    sinusoidal_positions,
)
from tests.ml.fixtures.bertsumext import tiny_config


def make_batch(lengths=(3, 1), tokens=20):
    b, s = len(lengths), max(lengths)
    mask = torch.zeros((b, s), dtype=torch.bool)
    cls = torch.zeros((b, s), dtype=torch.long)
    for r, n in enumerate(lengths):
        mask[r, :n] = True
        cls[r, :n] = torch.arange(n) * 5
    return ExtBatch(
        input_ids=torch.randint(1000, 2000, (b, tokens)),
        attention_mask=torch.ones((b, tokens), dtype=torch.long),
        token_type_ids=torch.zeros((b, tokens), dtype=torch.long),
        cls_positions=cls,
        sentence_mask=mask,
        sentence_positions=torch.arange(s).expand(b, -1),
        labels=torch.zeros((b, s)),
    )


def test_config_round_trip_and_validation():
    config = tiny_config()
    assert BertSumExtConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        BertSumExtConfig.from_dict({**config.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="long_documents"):
        BertSumExtConfig(long_documents="drop")
    with pytest.raises(ValueError, match="sentence_pooling"):
        BertSumExtConfig(sentence_pooling="max")


def test_needs_an_encoder_config_or_the_pretrained_constructor():
    with pytest.raises(ValueError, match="from_pretrained_encoder"):
        BertSumExt(BertSumExtConfig())


def test_forward_shapes_and_padding_mask():
    torch.manual_seed(0)
    model = BertSumExt(tiny_config()).eval()
    batch = make_batch((3, 1))
    logits = model(batch)
    assert logits.shape == (2, 3)
    assert logits[1, 1:].max() < -1e3  # padded sentences can never be chosen
    # A padded sentence does not change the real ones.
    alone = make_batch((1,))
    alone.input_ids = batch.input_ids[1:]
    assert torch.allclose(model(alone)[0, 0], logits[1, 0], atol=1e-5)


def test_mean_pooling_averages_each_sentence_s_own_tokens():
    top = torch.arange(12, dtype=torch.float).view(2, 6, 1)  # token t of row r has value 6r+t
    batch = ExtBatch(
        input_ids=torch.zeros((2, 6), dtype=torch.long),
        attention_mask=torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]),
        token_type_ids=torch.zeros((2, 6), dtype=torch.long),
        cls_positions=torch.tensor([[0, 3], [0, 0]]),  # row 1: one sentence + padding
        sentence_mask=torch.tensor([[True, True], [True, False]]),
        sentence_positions=torch.zeros((2, 2), dtype=torch.long),
    )
    pooled = mean_pool_sentences(top, batch).squeeze(-1)
    # Row 0: tokens 0-2 and 3-4 (5 is padding); row 1: tokens 6-11; padded sentence 0.
    assert pooled.tolist() == [[1.0, 3.5], [8.5, 0.0]]


def test_mean_pooling_model_scores_and_masks_like_cls():
    torch.manual_seed(0)
    model = BertSumExt(tiny_config(sentence_pooling="mean")).eval()
    batch = make_batch((3, 1))
    logits = model(batch)
    assert logits.shape == (2, 3)
    assert logits[1, 1:].max() < -1e3
    cls_model = BertSumExt(tiny_config()).eval()
    cls_model.load_state_dict(model.state_dict())
    assert not torch.allclose(cls_model(batch)[0], logits[0])  # the pooling is really used


def test_loss_ignores_padded_sentences():
    logits = torch.tensor([[2.0, -2.0, 50.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, :2], labels[:, :2])
    assert torch.allclose(BertSumExt.loss(logits, labels, mask), expected)


def test_max_pos_beyond_the_encoder_extends_positions_and_is_saved_in_the_config():
    config = tiny_config(max_pos=200)  # tiny encoder has 128 positions
    model = BertSumExt(config)
    assert model.encoder.embeddings.position_embeddings.num_embeddings == 200
    assert config.encoder_config is not None
    assert config.encoder_config["max_position_embeddings"] == 200
    assert model(make_batch((2,), tokens=200)).shape == (1, 2)


def test_sinusoidal_positions():
    enc = sinusoidal_positions(torch.tensor([[0, 1, 2]]), 8)
    assert enc.shape == (1, 3, 8)
    assert torch.allclose(enc[0, 0, 0::2], torch.zeros(4))
    assert torch.allclose(enc[0, 0, 1::2], torch.ones(4))
    assert not torch.allclose(enc[0, 1], enc[0, 2])
