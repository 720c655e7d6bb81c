"""Train configs: one source of defaults (the recipe), layering, and errors that name the field."""

import pytest

from ml.models.bertsumext.config import BertSumExtConfig, TrainConfig
from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.config import TrainConfig as MatchSumTrainConfig
from ml.registry import (
    ConfigError,
    model_config_class,
    resolve_train_config,
    train_config_class,
    trainable_kinds,
)
from ml.training.config import LoopConfig


def test_the_defaults_are_the_measured_recipe():
    bert = resolve_train_config("bertsumext")
    assert isinstance(bert, TrainConfig)
    assert (bert.model.sentence_pooling, bert.train_windows) == ("mean", "all")
    assert (bert.batch_size, bert.lr, bert.head_lr, bert.warmup_steps) == (4, 7e-5, 2e-4, 50)
    assert (bert.model.attention_dropout, bert.eval_every) == (0.0, 200)
    match = resolve_train_config("matchsum")
    assert isinstance(match, MatchSumTrainConfig)
    assert (match.batch_size, match.lr, match.warmup_steps, match.eval_every) == (4, 2e-5, 50, 200)
    assert match.model.attention_dropout == 0.0 and match.model.pooling == "mean"
    assert not hasattr(match, "head_lr")
    # A checkpoint's config without a key still gets the paper's value, not the recipe's.
    assert BertSumExtConfig().sentence_pooling == "cls"
    assert BertSumExtConfig().attention_dropout is None


def test_the_shared_loop_fields_are_declared_once():
    shared = {f for f in LoopConfig.__dataclass_fields__}
    for config_class in (TrainConfig, MatchSumTrainConfig):
        assert issubclass(config_class, LoopConfig)
        own = set(config_class.__dataclass_fields__) - shared
        assert "batch_size" not in own and "model" in own


def test_registry_lookups():
    assert trainable_kinds() == ("bertsumext", "matchsum")
    assert train_config_class("bertsumext") is TrainConfig
    assert train_config_class("matchsum") is MatchSumTrainConfig
    assert model_config_class("bertsumext") is BertSumExtConfig
    assert model_config_class("matchsum") is MatchSumConfig
    with pytest.raises(ConfigError, match="unknown model 'gpt'"):
        resolve_train_config("gpt")


def test_layers_apply_in_order_and_merge_the_model_key_by_key():
    config = resolve_train_config(
        "bertsumext",
        {"model": {"attention_dropout": 0.1, "max_pos": 256}, "batch_size": 16},
        {"model": {"max_pos": 128}, "lr": 1e-4},
    )
    assert (config.model.sentence_pooling, config.model.max_pos) == ("mean", 128)
    assert config.model.attention_dropout == 0.1
    assert (config.batch_size, config.lr) == (16, 1e-4)
    assert resolve_train_config("bertsumext", {}, {}) == resolve_train_config("bertsumext")
    assert isinstance(resolve_train_config("matchsum", {"lr": 1}).lr, float)


@pytest.mark.parametrize(
    ("kind", "layer", "needle"),
    [
        ("bertsumext", {"no_such_setting": 1}, "no_such_setting"),
        ("bertsumext", {"model": {"no_such": 1}}, "model.no_such"),
        ("matchsum", {"head_lr": 1e-3}, "head_lr"),
        ("bertsumext", {"batch_size": 0}, "batch_size must be >= 1"),
        ("bertsumext", {"probe_epochs": -1}, "probe_epochs must be >= 0"),
        ("bertsumext", {"batch_size": "4"}, "batch_size must be int"),
        ("bertsumext", {"block_trigrams": 1}, "block_trigrams must be bool"),
        ("bertsumext", {"schedule": "cosine"}, "schedule must be one of 'linear', 'noam'"),
        ("bertsumext", {"train_windows": "some"}, "train_windows"),
        ("bertsumext", {"model": {"max_pos": 8}}, "model.max_pos must be >= 16"),
        ("bertsumext", {"model": {"attention_dropout": 1.0}}, "model.attention_dropout"),
        ("bertsumext", {"model": "big"}, "model must be a JSON object"),
        ("matchsum", {"model": {"candidate_sizes": [0]}}, "model.candidate_sizes"),
        ("matchsum", {"model": {"pooling": "max"}}, "model.pooling must be one of"),
        ("matchsum", {"lr": -1}, "lr must be >= 0"),
        ("bertsumext", {"probe_lr": 0}, "probe_lr must be > 0"),
    ],
)
def test_bad_settings_name_the_field(kind, layer, needle):
    with pytest.raises(ConfigError) as error:
        resolve_train_config(kind, layer)
    assert needle in str(error.value)
    assert "__init__" not in str(error.value) and "keyword argument" not in str(error.value)


def test_a_layer_must_be_a_mapping():
    with pytest.raises(ConfigError, match="JSON object"):
        resolve_train_config("bertsumext", [1])  # type: ignore[arg-type]


def test_configs_round_trip_through_json_dicts():
    config = resolve_train_config("matchsum", {"model": {"candidate_sizes": [3, 2, 3]}})
    assert config.model.candidate_sizes == [2, 3]
    assert MatchSumTrainConfig.from_dict(config.to_dict()) == config
    bert = resolve_train_config("bertsumext")
    assert TrainConfig(**bert.to_dict()) == bert  # a "model" dict becomes the model config
