"""Config validation for training (issue 14): unknown keys, types and ranges, hostile files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from idrak import nn
from idrak.train import Config, ConfigError, Runner


def _net() -> nn.Module:
    return nn.Linear(2, 3)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("learnig_rate", "learning_rate"), ("batch_szie", "batch_size"), ("epoch", "epochs")],
)
def test_typos_are_errors_with_a_suggestion(key: str, suggestion: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"unknown config key '{key}'.*did you mean '{suggestion}'"
    ):
        Runner(config=Config({key: 1}), model=_net(), quiet=True)


def test_extra_declares_user_keys() -> None:
    Runner(config=Config(block_size=3, learning_rate=0.1), model=_net(), extra=["block_size"])
    with pytest.raises(ConfigError, match="block_size"):
        Runner(config=Config(block_size="x"), model=_net(), extra={"block_size": int})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("grad_clip_norm", math.nan, "a number > 0"),
        ("grad_clip_norm", math.inf, "a number > 0"),
        ("drop_last", "no", "True or False"),
        ("batch_size", "32", "an int >= 1"),
        ("batch_size", 0, "an int >= 1"),
        ("batch_size", True, "an int >= 1"),
        ("epochs", -1, "an int >= 1"),
        ("learning_rate", math.nan, "a number >= 0"),
        ("learning_rate", -0.1, "a number >= 0"),
        ("learning_rate", "fast", "a number >= 0"),
        ("weight_decay", -1e-4, "a number >= 0"),
        ("betas", [0.9, 1.5], "two numbers in"),
        ("dropout", 1.0, "a number in"),
        ("seed", 1.5, "an int or None"),
        ("lr_scheduler_interval", "batch", "'epoch' or 'step'"),
    ],
)
def test_bad_values_name_key_value_and_expectation(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Runner(config=Config({key: value}), model=_net(), quiet=True)
    msg = str(info.value)
    assert f"config {key} must be {expected}" in msg and repr(value) in msg, msg


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError, match=r"(?s)learnig_rate.*batch_size must be"):
        Runner(config=Config(learnig_rate=0.1, batch_size="x"), model=_net())


def test_toml_typo_is_caught_at_load(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("learnig_rate = 1e-1\nbatch_size = 8\n")
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"):
        Runner(config=Config.load(path), model=_net())


def test_hostile_config_files_raise_config_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"x = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid UTF-8"):
        Config.load(bad)
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ConfigError, match=r"deep\.json: .*nested too deeply"):
        Config.load(deep)
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.toml"):
        Config.load(deep_toml)
