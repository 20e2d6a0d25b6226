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
        ({"loss": "dr_grpo", "scale_rewards": True}, r"Dr. GRPO removes the std scaling"),
        ({"loss": "p3o", "group_size": 4, "micro_batch_size": 6}, r"micro_batch_size=6 is not a multiple of group_size=4; set micro_batch_size to 4"),
        ({"temperature": 0.0}, r"temperature=0.0: .* set temperature > 0"),
        ({"overlong_buffer": 300, "max_new_tokens": 256}, r"overlong_buffer=300 must be in \[0, max_new_tokens=256\)"),
        ({"engine": "vllm", "device": "cpu"}, r"engine='vllm' needs a CUDA GPU but device='cpu'"),
        ({"sft_gate": 1.5}, r"sft_gate=1.5 is a group accuracy"),
        ({"kl_estimator": "k4"}, r"kl_estimator='k4' is not one of"),
        ({"tis_cap": 0.0}, r"tis_cap=0.0 must be > 0"),
    ],
)
def test_validation_names_values_and_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        GRPOConfig(**changes)


def test_load_toml_yaml_and_overrides(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('[grpo]\nloss = "dapo"\nclip_eps_high = 0.28\ngroup_size = 4\nenv_kwargs = {max_turns = 3}\n')
    cfg = load_config(toml, {"lr": 1e-4})
    assert (cfg.loss, cfg.clip_eps_high, cfg.group_size, cfg.lr, dict(cfg.env_kwargs)) == ("dapo", 0.28, 4, 1e-4, {"max_turns": 3})
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
    [("lr", "1e-3", 1e-3), ("group_size", "4", 4), ("tis_cap", "none", None), ("dynamic_sampling", "true", True),
     ("env_kwargs", '{"a": 1}', {"a": 1}), ("env_modules", "envs,mypkg", ("envs", "mypkg")), ("loss", "p3o", "p3o")],
)
def test_parse_override(key, text, value):
    assert parse_override(key, text) == value


def test_parse_override_rejects_unknown_key_and_bad_bool():
    with pytest.raises(ConfigError, match="unknown config key 'learning_rate'"):
        parse_override("learning_rate", "1")
    with pytest.raises(ConfigError, match="takes true/false"):
        parse_override("dynamic_sampling", "maybe")
