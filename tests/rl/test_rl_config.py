"""GRPOConfig: defaults, validation messages, file loading and CLI overrides."""

from __future__ import annotations

import dataclasses

import pytest

from rl.config import GRPOConfig, load_config, parse_override
from rl.errors import ConfigError


def test_frozen_and_derived_values():
    cfg = GRPOConfig(model="m", group_size=4, prompts_per_step=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.batch_episodes == 12
    assert cfg.clip_eps_high_resolved == cfg.clip_eps_low
    assert GRPOConfig(loss="dr_grpo").scale_rewards_resolved is False
    assert GRPOConfig(loss="grpo").scale_rewards_resolved is True


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"loss": "ppo"}, r"loss='ppo' is not one of"),
        ({"group_size": 1}, r"group_size=1: group-relative advantages need at least 2"),
        ({"loss": "dr_grpo", "scale_rewards": True}, r"this loss removes the std scaling"),
        (
            {"loss": "p3o", "group_size": 4, "micro_batch_size": 6},
            r"micro_batch_size=6 is not a multiple of group_size=4; set micro_batch_size to 4",
        ),
        ({"temperature": 0.0}, r"temperature=0.0: .* set temperature > 0"),
        (
            {"overlong_buffer": 300, "max_new_tokens": 256},
            r"overlong_buffer=300 must be in \[0, max_new_tokens=256\)",
        ),
        (
            {"vllm_gpu_memory_utilization": 1.5},
            r"vllm_gpu_memory_utilization=1.5 must lie in \(0, 1\]",
        ),
        ({"sft_gate": 1.5}, r"sft_gate=1.5 is a group accuracy"),
        ({"kl_estimator": "k4"}, r"kl_estimator='k4' is not one of"),
        ({"tis_cap": 0.0}, r"tis_cap=0.0 must be > 0"),
        ({"group_size": "eight"}, r"group_size must be an integer, got 'eight' \(str\)"),
        ({"lr": "fast"}, r"lr must be a number, got 'fast'"),
        ({"dynamic_sampling": "yes"}, r"dynamic_sampling must be true or false, got 'yes'"),
        ({"group_size": True}, r"group_size must be an integer, got True \(bool\)"),
        ({"tis_cap": "2"}, r"tis_cap must be a number or None, got '2'"),
        ({"env_kwargs": [1]}, r"env_kwargs must be a mapping"),
        ({"env_modules": ("envs", 3)}, r"env_modules must be a list of strings"),
        ({"max_ungraded_steps": -1}, r"max_ungraded_steps=-1 must be >= 0"),
    ],
)
def test_validation_names_values_and_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        GRPOConfig(**changes)


def test_load_toml_yaml_and_overrides(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(
        '[grpo]\nloss = "dapo"\nclip_eps_high = 0.28\ngroup_size = 4\n'
        'env_kwargs = {max_turns = 3}\n'
    )
    cfg = load_config(toml, {"lr": 1e-4})
    assert (cfg.loss, cfg.clip_eps_high, cfg.group_size, cfg.lr, dict(cfg.env_kwargs)) == (
        "dapo",
        0.28,
        4,
        1e-4,
        {"max_turns": 3},
    )
    yaml = tmp_path / "run.yaml"
    yaml.write_text("loss: gspo\nclip_eps_low: 0.0003\nclip_eps_high: 0.0004\n")
    assert load_config(yaml).loss == "gspo"
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = 1.0\nlearning_rate = 2.0\n")
    with pytest.raises(ConfigError, match=r"unknown config keys \['learning_rate'\]"):
        load_config(bad)


def test_round_trip_through_dict():
    cfg = GRPOConfig(model="m", env_kwargs={"a": 1}, tis_cap=None)
    assert GRPOConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "key, text, value",
    [
        ("lr", "1e-3", 1e-3),
        ("group_size", "4", 4),
        ("tis_cap", "none", None),
        ("dynamic_sampling", "true", True),
        ("env_kwargs", '{"a": 1}', {"a": 1}),
        ("env_modules", "envs,mypkg", ("envs", "mypkg")),
        ("loss", "p3o", "p3o"),
    ],
)
def test_parse_override(key, text, value):
    assert parse_override(key, text) == value


def test_parse_override_rejects_unknown_key_and_bad_values():
    with pytest.raises(ConfigError, match="unknown config key 'learning_rate'"):
        parse_override("learning_rate", "1")
    with pytest.raises(ConfigError, match="takes true/false"):
        parse_override("dynamic_sampling", "maybe")
    with pytest.raises(ConfigError, match="group_size takes an integer, got 'abc'"):
        parse_override("group_size", "abc")
    with pytest.raises(ConfigError, match="lr takes a number, got '1e-3x'"):
        parse_override("lr", "1e-3x")
    with pytest.raises(ConfigError, match=r"env_kwargs takes a mapping .* got '\{bad'"):
        parse_override("env_kwargs", "{bad")


def test_numbers_of_either_kind_and_lists_are_accepted():
    # an int where a float goes; a list of modules
    cfg = GRPOConfig(lr=0, tis_cap=3, env_modules=["envs"])
    assert cfg.lr == 0 and cfg.tis_cap == 3 and cfg.env_modules == ("envs",)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("run.toml", "group_size = [\n", r"run.toml is not valid TOML"),
        ("run.yaml", "lr: [1\n", r"run.yaml is not valid YAML"),
        ("run.json", "{lr: 1}", r"run.json is not valid JSON"),
        ("run.yaml", "lr = 1e-3\n", r"must hold a table of GRPOConfig fields .* got str"),
        ("run.yaml", "- 1\n- 2\n", r"must hold a table of GRPOConfig fields .* got list"),
        ("run.ini", "lr = 1\n", r"must end in .toml, .yaml, .yml or .json"),
    ],
)
def test_bad_config_files_name_the_file_and_the_problem(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.toml cannot be read: No such file"):
        load_config(tmp_path / "nope.toml")


def test_learning_rate_schedules():
    constant = GRPOConfig(lr=2.0, steps=4)
    assert [constant.lr_at(s) for s in range(4)] == [2.0] * 4
    cosine = GRPOConfig(lr=1.0, steps=6, warmup_steps=2, lr_schedule="cosine")
    assert [round(cosine.lr_at(s), 4) for s in range(6)] == [0.5, 1.0, 1.0, 0.8536, 0.5, 0.1464]
    linear = GRPOConfig(lr=1.0, steps=4, lr_schedule="linear")
    # a resumed, longer run stays >= 0
    assert [linear.lr_at(s) for s in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    with pytest.raises(
        ConfigError, match=r"lr_schedule='step' is not one of \['constant', 'linear', 'cosine'\]"
    ):
        GRPOConfig(lr_schedule="step")
    with pytest.raises(ConfigError, match="warmup_steps=-1 must be >= 0"):
        GRPOConfig(warmup_steps=-1)


def test_loss_and_kl_names_come_from_their_tables():
    from rl import config, kl, losses

    assert config.LOSS_NAMES == tuple(losses.LOSSES) and config.KL_ESTIMATORS == tuple(
        kl.KL_ESTIMATORS
    )
    assert [n for n, v in losses.LOSSES.items() if v.whole_groups] == ["p3o"]
    assert [n for n, v in losses.LOSSES.items() if not v.scales_by_std] == ["dr_grpo"]
