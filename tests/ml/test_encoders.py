from pathlib import Path

import pytest
import torch

from ml.encoders import (
    EncoderNotFoundError,
    encoder_from_config,
    extend_position_embeddings,
    max_positions,
    packaged_encoder_dir,
    resolve_encoder,
    set_attention_dropout,
)
from tests.ml.fixtures.encoders import tiny_bert_config, tiny_bert_encoder


def test_default_names_resolve_to_the_packaged_model():
    for name in ("default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        path, local = resolve_encoder(name)
        assert local is True
        assert Path(path) == packaged_encoder_dir()
        assert (Path(path) / "config.json").is_file()


def test_local_dirs_are_offline_and_hub_names_pass_through(tmp_path):
    assert resolve_encoder(str(tmp_path)) == (str(tmp_path.resolve()), True)
    assert resolve_encoder("klue/bert-base") == ("klue/bert-base", False)
    with pytest.raises(EncoderNotFoundError, match="does not exist"):
        resolve_encoder(str(tmp_path / "missing"))


def test_tiny_encoder_is_random_and_uses_the_packaged_vocabulary():
    model, tokenizer = tiny_bert_encoder(hidden_size=32, num_layers=2)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tokenizer) == 30522
    ids = tokenizer("a short test", return_tensors="pt")
    assert model(**ids).last_hidden_state.shape[-1] == 32


def test_position_extension_copies_the_last_row_like_presumm():
    model = encoder_from_config(tiny_bert_config(max_position_embeddings=64))
    old = model.embeddings.position_embeddings.weight.detach().clone()
    extend_position_embeddings(model, 100)
    new = model.embeddings.position_embeddings.weight.detach()
    assert new.shape == (100, 32)
    assert torch.equal(new[:64], old)
    assert torch.equal(new[64:], old[-1].expand(36, -1))
    assert max_positions(model) == 100 and model.config.max_position_embeddings == 100
    # A 100-token input now runs (it would index out of range before).
    out = model(input_ids=torch.ones((1, 100), dtype=torch.long)).last_hidden_state
    assert out.shape == (1, 100, 32)
    # A saved config rebuilds the extended table.
    rebuilt = encoder_from_config(model.config.to_dict())
    assert rebuilt.embeddings.position_embeddings.num_embeddings == 100


def test_position_extension_never_shrinks():
    model = encoder_from_config(tiny_bert_config(max_position_embeddings=64))
    extend_position_embeddings(model, 32)
    assert model.embeddings.position_embeddings.num_embeddings == 64


def test_attention_dropout_override_reaches_the_attention_modules():
    model = encoder_from_config(tiny_bert_config())
    set_attention_dropout(model, 0.0)
    probs = [m.dropout.p for m in model.modules() if type(m).__name__.endswith("SelfAttention")]
    assert probs and all(p == 0.0 for p in probs)
    assert model.config.attention_probs_dropout_prob == 0.0
    # Hidden-state dropout is untouched.
    assert model.embeddings.dropout.p == pytest.approx(0.1)
