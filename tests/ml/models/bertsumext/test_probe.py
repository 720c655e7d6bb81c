import pytest
import torch

from ml.encoders import load_tokenizer
from ml.models.bertsumext.features import collate, featurize
from ml.models.bertsumext.model import BertSumExt
from ml.models.bertsumext.probe import encode_windows, head_batch, train_head
from ml.models.bertsumext.train import train, training_windows
from tests.ml.fixtures.bertsumext import tiny_config, tiny_train_config, toy_examples


def windows_of(config, examples):
    tokenizer = load_tokenizer("default")
    docs = featurize(examples, tokenizer, config, True)
    windows, _ = training_windows(docs, tokenizer, config, "all")
    return windows, int(tokenizer.pad_token_id or 0)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_head_on_cached_vectors_scores_like_the_whole_model(pooling):
    torch.manual_seed(0)
    config = tiny_config(max_pos=40, window_overlap=1, sentence_pooling=pooling)
    model = BertSumExt(config).eval()
    windows, pad_id = windows_of(config, toy_examples(3, sentences=9, seed=4))
    assert len(windows) > 3  # several windows of unequal length, batched out of order
    vectors = encode_windows(model, windows, pad_id, batch_size=2)
    index = list(range(len(windows)))
    sents, mask, positions, labels = head_batch(windows, vectors, index)
    with torch.no_grad():
        from_cache = model.head(sents, mask, positions)
        direct = model(collate(windows, pad_id))
    assert torch.allclose(from_cache[mask], direct[mask], atol=1e-5)
    assert torch.equal(labels[mask], collate(windows, pad_id).labels[mask])


def test_train_head_learns_and_leaves_the_encoder_alone():
    torch.manual_seed(0)
    config = tiny_config(ext_dropout=0.0)
    model = BertSumExt(config)
    windows, pad_id = windows_of(config, toy_examples(8, seed=6))
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    vectors = encode_windows(model, windows, pad_id)
    epochs = []
    losses = train_head(
        model,
        windows,
        vectors,
        epochs=30,
        lr=1e-2,
        batch_size=4,
        after_epoch=lambda e, loss: epochs.append(e),
    )
    assert epochs == list(range(1, 31)) and len(losses) == 30
    # A random tiny encoder gives near-identical sentence vectors, so what the head can
    # learn here is the positional prior: from ~0.85 down to its entropy (~0.59).
    assert losses[-1] < 0.75 * losses[0]
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in encoder_before.items())


def test_training_with_a_probe_first_changes_the_start_and_reports_it(tmp_path):
    data = toy_examples(6, seed=3)
    plain = train(tiny_train_config(max_steps=2, eval_every=2), data, data[:2], tmp_path / "a")
    probed = train(
        tiny_train_config(max_steps=2, eval_every=2, probe_epochs=3, probe_lr=1e-2),
        data,
        data[:2],
        tmp_path / "b",
    )
    assert "probe_loss" not in plain.metrics
    assert probed.metrics["probe_loss"] > 0 and probed.metrics["probe_minutes"] >= 0
    assert probed.metrics["val_loss"] != plain.metrics["val_loss"]
    with pytest.raises(ValueError, match="probe_epochs"):
        tiny_train_config(probe_epochs=-1)
    with pytest.raises(ValueError, match="probe_lr"):
        tiny_train_config(probe_lr=0)
