"""``VLLMEngine``'s own logic on the CPU, over a stand-in for the part of vLLM's ``LLM`` it calls.

This is a unit test of the adapter (how it builds the engine, sleeps and wakes it, pushes weights,
resets the prefix cache, reads log-probs back); it says nothing about vLLM itself. The stand-in
samples with ``HFEngine`` over its *own copy* of the model and, like vLLM at sleep level 2, destroys
that copy's weights when put to sleep, so only a complete weight push brings it back in line with
the policy. vLLM itself is checked on a GPU by ``tests/gpu/check_vllm_engine.py``.
"""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest
import torch
from rl_test_envs import DigitEnv, ParityEnv

from rl.config import GRPOConfig
from rl.engines.base import RolloutEngine, SamplingParams, check_engine
from rl.engines.hf import HFEngine
from rl.errors import RLError
from rl.trainer import GRPOTrainer


class _Logprob:
    def __init__(self, value: float) -> None:
        self.logprob = value


class _ModelCopy:
    """The model vLLM runs: takes weights by name through ``load_weights`` (vLLM models' own
    loader)."""

    def __init__(self, hf_model) -> None:
        self.hf = hf_model
        self.loaded: list[str] = []

    def load_weights(self, weights) -> None:
        params = dict(self.hf.named_parameters())
        for name, tensor in weights:
            with torch.no_grad():
                params[name].copy_(tensor)
            self.loaded.append(name)

    def parameters(self):
        return self.hf.parameters()


class StandInLLM:
    """The ``vllm.LLM`` surface ``VLLMEngine`` uses: constructor, generate, sleep, wake_up,
    reset_prefix_cache and collective_rpc, with vLLM's output shapes."""

    refuse_logprobs_mode = False
    in_process = True

    def __init__(self, model: str, **kwargs) -> None:
        if "logprobs_mode" in kwargs and StandInLLM.refuse_logprobs_mode:
            raise TypeError("__init__() got an unexpected keyword argument 'logprobs_mode'")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.kwargs = {"model": model, **kwargs}
        self.calls: list = []
        hf = AutoModelForCausalLM.from_pretrained(model, local_files_only=True).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
        self.model = _ModelCopy(hf)
        self.worker = SimpleNamespace(model_runner=SimpleNamespace(model=self.model))
        executor = (
            SimpleNamespace(driver_worker=self.worker)
            if StandInLLM.in_process
            else SimpleNamespace()
        )
        self.llm_engine = SimpleNamespace(model_executor=executor)
        self.awake = {"weights", "kv_cache"}

    def generate(self, inputs, sampling_params, use_tqdm=True):
        assert self.awake == {"weights", "kv_cache"}, f"generate() while {self.awake} are awake"
        self.calls.append("generate")
        per_prompt = (
            sampling_params
            if isinstance(sampling_params, list)
            else [sampling_params] * len(inputs)
        )
        assert len(per_prompt) == len(inputs)
        self.seeds = [p.seed for p in per_prompt]
        prompts = [x if isinstance(x, str) else x["prompt_token_ids"] for x in inputs]
        groups = []
        for prompt, p in zip(prompts, per_prompt):
            params = SamplingParams(
                n=p.n,
                temperature=p.temperature,
                top_p=p.top_p,
                max_tokens=p.max_tokens,
                seed=p.seed,
            )
            groups += HFEngine(self.model.hf, self.tokenizer).generate([prompt], params)
        # vLLM's logprob dicts may hold other tokens than the sampled one
        other = self.tokenizer.pad_token_id
        return [
            SimpleNamespace(
                prompt_token_ids=list(g[0].prompt_token_ids),
                outputs=[
                    SimpleNamespace(
                        text=c.text,
                        token_ids=list(c.token_ids),
                        finish_reason=c.finish_reason,
                        logprobs=[
                            {other: _Logprob(-50.0), t: _Logprob(lp)}
                            for t, lp in zip(c.token_ids, c.logprobs)
                        ],
                    )
                    for c in g
                ],
            )
            for g in groups
        ]

    def sleep(self, level: int = 1) -> None:
        self.calls.append(f"sleep{level}")
        # weights discarded: what comes back on wake is garbage until weights are loaded
        if level == 2:
            with torch.no_grad():
                for param in self.model.hf.parameters():
                    param.fill_(float("nan"))
        self.awake.clear()

    def wake_up(self, tags=None) -> None:
        self.calls.append(("wake", tuple(tags) if tags else None))
        self.awake |= set(tags or ("weights", "kv_cache"))

    def reset_prefix_cache(self) -> None:
        self.calls.append("reset_prefix_cache")

    def collective_rpc(self, method, args=(), kwargs=None):
        self.calls.append("collective_rpc")
        if isinstance(method, str):  # an older vLLM's worker: no reload_weights
            return [getattr(self.worker, method)(*args, **(kwargs or {}))]
        return [method(self.worker, *args, **(kwargs or {}))]


@pytest.fixture
def vllm_stand_in(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM = StandInLLM
    module.SamplingParams = lambda **kw: SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", module)
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(StandInLLM, "refuse_logprobs_mode", False)
    monkeypatch.setattr(StandInLLM, "in_process", True)
    # the stand-in is a GPU build with sleep mode, whatever vLLM is installed
    from rl.engines import vllm_engine

    monkeypatch.setattr(vllm_engine, "platform_device", lambda: None)
    monkeypatch.setattr(vllm_engine, "_sleep_mode_available", lambda: True)
    return module


def _engine(path, **kw):
    from rl.engines.vllm_engine import VLLMEngine

    return VLLMEngine(path, **kw)


def test_the_engine_is_built_colocated_with_sleep_mode_and_processed_logprobs(
    vllm_stand_in, tiny_model_path
):
    import os

    engine = _engine(tiny_model_path, gpu_memory_utilization=0.25, seed=3)
    kw = engine.llm.kwargs
    assert (
        kw["distributed_executor_backend"] == "external_launcher"
        and kw["enable_sleep_mode"] is True
    )
    assert kw["logprobs_mode"] == "processed_logprobs" and kw["max_num_batched_tokens"] == 4096
    assert (kw["gpu_memory_utilization"], kw["seed"]) == (0.25, 3)
    # a free port, not a fixed one
    assert os.environ["MASTER_PORT"] != "29517" and int(os.environ["MASTER_PORT"]) > 0
    # what external_launcher reads
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"]) == ("0", "1")
    assert (
        _engine(tiny_model_path, max_num_batched_tokens=8192).llm.kwargs["max_num_batched_tokens"]
        == 8192
    )


def test_the_engine_satisfies_the_rollout_engine_protocol(vllm_stand_in, tiny_model_path):
    engine = _engine(tiny_model_path)
    assert isinstance(engine, RolloutEngine) and check_engine(engine) is engine


def test_an_older_vllm_without_logprobs_mode_still_starts(vllm_stand_in, tiny_model_path):
    StandInLLM.refuse_logprobs_mode = True
    assert "logprobs_mode" not in _engine(tiny_model_path).llm.kwargs


def test_completions_carry_the_sampled_tokens_logprobs(vllm_stand_in, tiny_model_path):
    engine = _engine(tiny_model_path)
    groups = engine.generate(
        ["1=", [5, 13]], SamplingParams(n=3, max_tokens=3, temperature=0.7, seed=1)
    )
    assert [len(g) for g in groups] == [3, 3]
    for c in groups[0] + groups[1]:
        assert len(c.logprobs) == len(c.token_ids) and all(lp > -50.0 for lp in c.logprobs)
        assert c.finish_reason in ("stop", "length") and c.prompt_token_ids
    assert groups[1][0].prompt_token_ids == (5, 13)
    # each request its own seed: equal prompts, different samples
    assert engine.llm.seeds == [1, 1 + 1_000_003]


def test_sleep_discards_weights_and_only_a_sync_brings_them_back(
    vllm_stand_in, tiny_model_path, tiny_policy
):
    policy, _ = tiny_policy
    engine = _engine(tiny_model_path)
    engine.sleep()
    assert engine.llm.calls == ["sleep2"]
    with pytest.raises(
        RLError, match=r"discarded its weights; call sync\(policy\) before generate"
    ):
        engine.generate(["1="], SamplingParams(max_tokens=2))
    engine.sync(policy)
    # the weights are woken alone (the KV cache stays released while they load), then the cache is
    # reset; this stand-in is an older vLLM: the reload_weights call fails once and the model's own
    # loader takes over
    assert engine.llm.calls[1:] == [("wake", ("weights",)), "collective_rpc", "reset_prefix_cache"]
    assert engine._reload is False
    assert sorted(engine.llm.model.loaded) == sorted(name for name, _ in policy.named_parameters())
    engine.generate(["1="], SamplingParams(max_tokens=2))
    assert engine.llm.calls[4:] == [("wake", ("kv_cache",)), "generate"]


def test_a_vllm_with_reload_weights_takes_the_weights_through_it(
    vllm_stand_in, tiny_model_path, tiny_policy
):
    policy, _ = tiny_policy
    engine = _engine(tiny_model_path)
    reloads = []

    def reload_weights(weights_iterator, is_checkpoint_format):  # vLLM >= 0.11's worker method
        reloads.append(is_checkpoint_format)
        engine.llm.model.load_weights(weights_iterator)

    engine.llm.worker.reload_weights = reload_weights
    engine.sync(policy)
    engine.sync(policy)
    assert reloads == [True, True] and engine._reload is True
    for (name, theirs), ours in zip(engine.llm.model.hf.named_parameters(), policy.parameters()):
        assert torch.equal(theirs, ours), name


def test_weights_go_through_collective_rpc_when_the_worker_is_another_process(
    vllm_stand_in, tiny_model_path, tiny_policy
):
    StandInLLM.in_process = False
    policy, _ = tiny_policy
    engine = _engine(tiny_model_path)
    engine.sync(policy)
    assert "collective_rpc" in engine.llm.calls and engine.syncs == 1
    for (name, theirs), ours in zip(engine.llm.model.hf.named_parameters(), policy.parameters()):
        assert torch.equal(theirs, ours), name


def test_grpo_with_the_adapter_samples_from_the_policy_after_every_sync(
    vllm_stand_in, tiny_model_path, tmp_path
):
    cfg = GRPOConfig(
        model=tiny_model_path,
        group_size=4,
        prompts_per_step=2,
        micro_batch_size=8,
        max_new_tokens=3,
        steps=3,
        lr=5e-2,
        output_dir=str(tmp_path),
        progress=False,
        tensorboard=False,
        vllm_sleep=True,
    )
    engine = _engine(tiny_model_path)
    trainer = GRPOTrainer(cfg, engine=engine, envs=[ParityEnv() for _ in range(cfg.batch_episodes)])
    rows = trainer.train()
    # each step: generate (awake), sleep at level 2 for the update, push every weight, reset the
    # prefix cache
    assert engine.syncs == 3 and engine.llm.calls.count("sleep2") == 3
    assert engine.llm.calls.count("reset_prefix_cache") == 3
    # the stand-in's weights were destroyed at every sleep: a gap this small means every weight was
    # pushed
    assert all(r["logprob_gap"] < 1e-5 and r["sampler_logprob_nonfinite"] == 0 for r in rows)
    assert any(r["grad_norm"] > 0 for r in rows)  # the policy did change between the syncs


def test_the_trainer_passes_its_defaults_and_vllm_kwargs(vllm_stand_in, tiny_model_path, tmp_path):
    cfg = GRPOConfig(
        model=tiny_model_path,
        engine="vllm",
        group_size=2,
        prompts_per_step=1,
        max_new_tokens=2,
        steps=1,
        output_dir=str(tmp_path),
        progress=False,
        tensorboard=False,
        device="cpu",
        vllm_kwargs={"max_num_seqs": 7, "max_model_len": 128},
    )
    trainer = GRPOTrainer(cfg, envs=[DigitEnv() for _ in range(cfg.batch_episodes)])
    kw = trainer.engine.llm.kwargs
    assert kw["dtype"] == "float32"  # the policy's dtype, not vLLM's "auto" (which would pick bf16)
    # vllm_kwargs override the defaults
    assert (kw["max_num_seqs"], kw["max_model_len"]) == (7, 128)
    assert kw["gpu_memory_utilization"] == 0.3  # the stand-in reports no platform: the CUDA default
    assert GRPOConfig.from_dict(cfg.to_dict()).vllm_kwargs == {
        "max_num_seqs": 7,
        "max_model_len": 128,
    }


def test_a_vllm_built_for_another_device_is_refused(vllm_stand_in, tiny_model_path, monkeypatch):
    from rl.engines import vllm_engine

    monkeypatch.setattr(vllm_engine, "platform_device", lambda: "cpu")
    with pytest.raises(
        RLError, match=r"CPU build but the trainer runs on CUDA: install vLLM's CUDA build"
    ):
        _engine(tiny_model_path, device="cuda")
    monkeypatch.setattr(vllm_engine, "platform_device", lambda: "cuda")
    with pytest.raises(
        RLError, match=r"built for cuda but the trainer runs on cpu: set device='cuda'"
    ):
        _engine(tiny_model_path, device="cpu")


def test_a_platform_without_sleep_mode_gets_an_engine_that_keeps_the_order(
    vllm_stand_in, tiny_model_path, tiny_policy, monkeypatch
):
    from rl.engines import vllm_engine

    monkeypatch.setattr(vllm_engine, "_sleep_mode_available", lambda: False)
    policy, _ = tiny_policy
    engine = _engine(tiny_model_path)
    assert engine.llm.kwargs["enable_sleep_mode"] is False and engine.sleep_mode is False
    engine.sleep()
    assert "sleep2" not in engine.llm.calls  # nothing to release ...
    # ... but the order holds
    with pytest.raises(RLError, match=r"call sync\(policy\) before generate"):
        engine.generate(["1="], SamplingParams(max_tokens=2))
    engine.sync(policy)
    engine.generate(["1="], SamplingParams(max_tokens=2))


def test_vllm_refusing_sleep_mode_with_a_valueerror_is_retried_without_it(
    vllm_stand_in, tiny_model_path, monkeypatch
):
    original = StandInLLM.__init__

    def refuse(self, model, **kwargs):
        if kwargs.get("enable_sleep_mode"):
            raise ValueError("Sleep mode is not supported on current platform.")
        original(self, model, **kwargs)

    monkeypatch.setattr(StandInLLM, "__init__", refuse)
    engine = _engine(tiny_model_path)
    assert engine.sleep_mode is False and engine.llm.kwargs["enable_sleep_mode"] is False


def test_auto_is_hf_without_a_vllm_that_serves_this_device(tiny_model_path, monkeypatch):
    import importlib.util

    from rl.engines.select import resolve_engine

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "vllm" else real_find_spec(name, *a),
    )
    assert resolve_engine("auto", tiny_model_path, "cpu", None) == "hf"


def test_under_torchrun_the_launchers_port_is_kept_and_otherwise_each_engine_gets_a_free_one(
    vllm_stand_in, tiny_model_path, monkeypatch
):
    import os

    # inherited, not a launcher's: a second engine would collide
    monkeypatch.setenv("MASTER_PORT", "29517")
    _engine(tiny_model_path)
    assert os.environ["MASTER_PORT"] != "29517"
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "run")
    monkeypatch.setenv("MASTER_PORT", "29600")
    _engine(tiny_model_path)
    assert os.environ["MASTER_PORT"] == "29600"
