"""``python -m ml train`` options: generated from the configs, the recipe when left out."""

import argparse

import pytest

from ml import cli
from ml.cli.arguments import UsageError
from ml.cli.options import config_options
from ml.cli.train import build_train_parser, resolve_cli_config
from ml.registry import (
    model_config_class,
    resolve_train_config,
    train_config_class,
    trainable_kinds,
)
from ml.settings import setting_fields

PATHS = ["train", "--train", "t.jsonl", "--val", "v.jsonl", "--out", "out"]


def parse(*extra: str) -> argparse.Namespace:
    return cli.build_parser().parse_args([*PATHS, *extra])


@pytest.mark.parametrize("kind", trainable_kinds())
def test_only_the_paths_trains_the_recipe_the_service_trains(kind):
    args = parse("--model", kind)
    config = resolve_cli_config(args)
    # The same config as the registry's defaults and as the service resolves with an
    # empty TRAINING_DEFAULTS and empty params (resolve_train_config(kind, {}, {})).
    assert config == resolve_train_config(kind) == resolve_train_config(kind, {}, {})
    assert resolve_cli_config(parse()) == resolve_train_config("bertsumext")


def test_every_setting_is_an_option_with_help_text():
    parser = build_train_parser(argparse.ArgumentParser())
    helps = {flag: action.help for action in parser._actions for flag in action.option_strings}
    for kind in trainable_kinds():
        for config_class in (train_config_class(kind), model_config_class(kind)):
            for f, _ in setting_fields(config_class):
                if f.name == "model" or not f.metadata["cli"]:
                    continue
                flag = "--" + f.name.replace("_", "-")
                assert helps.get(flag), flag
                assert f.metadata["help"] in helps[flag]
    assert "7e-05 (bertsumext), 2e-05 (matchsum)" in helps["--lr"]
    assert "bertsumext only" in helps["--head-lr"]


def test_options_become_settings():
    args = parse("--lr", "1e-4", "--sentence-pooling", "cls", "--head-lr", "none")
    args_more = parse("--train-windows", "first", "--max-pos", "64", "--block-trigrams", "false")
    config = resolve_cli_config(args)
    assert (config.lr, config.model.sentence_pooling, config.head_lr) == (1e-4, "cls", None)
    assert config.train_windows == "all" and config.model.max_pos == 512  # the recipe's
    more = resolve_cli_config(args_more)
    assert (more.train_windows, more.model.max_pos, more.block_trigrams) == ("first", 64, False)
    match = resolve_cli_config(parse("--kind", "matchsum", "--candidate-sizes", "3,2"))
    assert match.model.candidate_sizes == [2, 3]


def test_an_option_of_another_model_is_a_usage_error():
    with pytest.raises(UsageError, match="--head-lr applies to --model bertsumext only"):
        resolve_cli_config(parse("--model", "matchsum", "--head-lr", "1e-3"))
    with pytest.raises(UsageError, match="--pooling applies to --model matchsum only"):
        resolve_cli_config(parse("--pooling", "cls"))


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--batch-size", "0", "must be positive"),
        ("--lr", "-1", "must not be negative"),
        ("--probe-lr", "0", "must be positive"),
        ("--attention-dropout", "1", "must be in [0, 1)"),
        ("--schedule", "cosine", "invalid choice"),
        ("--candidate-sizes", "0", "sizes must be positive"),
    ],
)
def test_bad_values_are_argparse_errors(capsys, flag, value, message):
    with pytest.raises(SystemExit) as exit_info:
        parse(flag, value)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_options_are_shared_by_the_kinds_that_have_them():
    options = config_options()
    assert set(options["--lr"].defaults) == {"bertsumext", "matchsum"}
    assert set(options["--attention-dropout"].defaults) == {"bertsumext", "matchsum"}
    assert options["--max-pos"].section == "model" and options["--seed"].section == ""
