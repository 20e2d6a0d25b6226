"""Every engine satisfies the ``RolloutEngine`` protocol: by its class's signatures (static) and
as an instance (``isinstance`` with the runtime-checkable protocol); an engine that lacks a member
is refused with the members it lacks and the fix; one sampling record goes from the config to the
engine.

``VLLMEngine``'s instance check is in ``test_rl_vllm_adapter.py``, over its stand-in for vLLM.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from rl_test_envs import DigitEnv

from rl.config import GRPOConfig
from rl.engines import (
    CompletedEngine,
    FakeEngine,
    HFEngine,
    RolloutEngine,
    SamplingParams,
    VLLMEngine,
    check_engine,
)
from rl.errors import ConfigError
from rl.rollout import EpisodeRunner
from rl.trainer import GRPOTrainer

PROTOCOL_METHODS = ("generate", "load_weights", "sync", "sleep", "wake_up")


@pytest.mark.parametrize("engine_class", [FakeEngine, HFEngine, VLLMEngine])
def test_each_engine_class_has_every_protocol_member_with_its_parameters(engine_class):
    assert isinstance(engine_class.name, str) and engine_class.name
    for method in PROTOCOL_METHODS:
        ours = inspect.signature(getattr(engine_class, method)).parameters
        protocol = inspect.signature(getattr(RolloutEngine, method)).parameters
        assert list(ours) == list(protocol), f"{engine_class.__name__}.{method}"


@pytest.mark.parametrize("dropped", [None, "name", *PROTOCOL_METHODS])
def test_the_members_listed_here_are_exactly_the_protocols(dropped):
    members = {m: (lambda self, *a: None) for m in PROTOCOL_METHODS if m != dropped}
    if dropped != "name":
        members["name"] = "probe"
    probe = type("Probe", (), members)()
    assert isinstance(probe, RolloutEngine) == (dropped is None)


def test_engine_instances_satisfy_the_runtime_protocol():
    hf = HFEngine(model=object(), tokenizer=SimpleNamespace(pad_token_id=0))
    for engine in (FakeEngine(["x"]), hf):
        assert isinstance(engine, RolloutEngine) and check_engine(engine) is engine


class OldStyleEngine:
    """An engine written against the old protocol: generate and load_weights only."""

    name = "old"

    def generate(self, prompts, params):
        return FakeEngine(["x"]).generate(prompts, params)

    def load_weights(self, state_dict):
        return None


def test_an_engine_with_only_the_core_gets_the_protocols_defaults():
    assert not isinstance(OldStyleEngine(), RolloutEngine)
    engine = check_engine(OldStyleEngine())
    assert isinstance(engine, CompletedEngine) and isinstance(engine, RolloutEngine)
    assert engine.name == "old" and engine.sleep() is None and engine.wake_up() is None
    params = SamplingParams(n=2)
    assert engine.generate([[1, 2]], params) == OldStyleEngine().generate([[1, 2]], params)


def test_a_completed_engine_keeps_the_members_it_has():
    calls = []

    class Syncing(OldStyleEngine):
        name = "syncing"

        def sync(self, policy):
            calls.append(("sync", policy))

        def sleep(self):
            calls.append("sleep")

    engine = check_engine(Syncing())
    engine.sync("policy")
    engine.sleep()
    engine.wake_up()
    assert engine.name == "syncing" and calls == [("sync", "policy"), "sleep"]


def test_the_default_sync_loads_the_policys_state_dict():
    loaded = []

    class Loading(OldStyleEngine):
        def load_weights(self, state_dict):
            loaded.append(dict(state_dict))

    check_engine(Loading()).sync(SimpleNamespace(state_dict=lambda: {"w": 1}))
    assert loaded == [{"w": 1}]


def test_an_engine_missing_the_core_is_refused_with_the_fix():
    class NoWeights:
        def generate(self, prompts, params):
            return []

    with pytest.raises(
        ConfigError,
        match=r"engine NoWeights lacks \['load_weights'\] of the RolloutEngine protocol; add them, "
        r"or subclass rl.engines.RolloutEngine",
    ):
        check_engine(NoWeights())


def test_the_trainer_refuses_an_engine_missing_the_core(tiny_policy, tmp_path):
    model, tok = tiny_policy
    cfg = GRPOConfig(group_size=2, prompts_per_step=1, output_dir=str(tmp_path), progress=False)
    with pytest.raises(ConfigError, match=r"lacks \['generate', 'load_weights'\]"):
        GRPOTrainer(cfg, policy=model, tokenizer=tok, engine=object(), envs=[])


def test_a_subclass_inherits_the_protocols_defaults():
    class Minimal(RolloutEngine):
        name = "minimal"

        def __init__(self):
            self.loaded = []

        def generate(self, prompts, params):
            return []

        def load_weights(self, state_dict):
            self.loaded.append(dict(state_dict))

    engine = Minimal()
    engine.sync(SimpleNamespace(state_dict=lambda: {"w": 1}))
    assert engine.loaded == [{"w": 1}] and engine.sleep() is None and engine.wake_up() is None
    assert check_engine(engine) is engine


def test_the_trainer_samples_with_the_configs_record_and_a_seed_per_round(tiny_policy, tmp_path):
    model, tok = tiny_policy
    seen = []

    class Recording(FakeEngine):
        def generate(self, prompts, params):
            seen.append(params)
            return super().generate(prompts, params)

    cfg = GRPOConfig(
        group_size=2,
        prompts_per_step=1,
        micro_batch_size=2,
        max_new_tokens=3,
        temperature=0.8,
        top_p=0.9,
        steps=1,
        output_dir=str(tmp_path),
        progress=False,
        tensorboard=False,
    )
    envs = [DigitEnv() for _ in range(cfg.batch_episodes)]
    trainer = GRPOTrainer(cfg, policy=model, tokenizer=tok, engine=Recording(["1"]), envs=envs)
    assert trainer.sampling == SamplingParams(n=2, temperature=0.8, top_p=0.9, max_tokens=3)
    trainer._collect()
    assert seen and seen[0] == trainer.sampling.replace(seed=seen[0].seed)
    assert seen[0].seed is not None
    trainer.close()


def test_later_turns_keep_the_sampling_record_with_one_completion_and_their_own_seed(tiny_policy):
    from rl_test_envs import EchoToolEnv

    _, tok = tiny_policy
    seen = []

    class Recording(FakeEngine):
        def generate(self, prompts, params):
            seen.append(params)
            return super().generate(prompts, params)

    runner = EpisodeRunner([EchoToolEnv() for _ in range(2)], Recording(["1", "7"]), tok, 3)
    params = SamplingParams(n=2, temperature=0.5, top_p=0.8, max_tokens=2, seed=11, stop=("\n",))
    runner.run([5], params)
    assert seen == [params, params.replace(n=1, seed=12)]


def test_sampling_params_to_dict_names_fields_in_order_and_lists_the_stop_strings():
    params = SamplingParams(n=3, temperature=0.5, stop=("a", "b"))
    assert list(params.to_dict("top_p", "n")) == ["top_p", "n"]
    assert params.to_dict() == {
        "n": 3,
        "temperature": 0.5,
        "top_p": 1.0,
        "max_tokens": 256,
        "seed": None,
        "stop": ["a", "b"],
    }
    with pytest.raises(ValueError, match="n must be >= 1"):
        params.replace(n=0)
