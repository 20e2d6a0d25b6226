"""Generation tokens/s on a real model (SmolLM2-135M-Instruct, float32, CPU): every engine, one run.

The same batch for every engine: 4 prompts of the bundled arithmetic set (chat template) x 8 samples
each (32 sequences, the trainer's G=8 x 4 prompts), at most 96 new tokens, temperature 0.7, seed 0.

Rows:
- ``transformers generate``: ``model.generate`` with its sampling (``HFEngine(use_generate=True)``),
  the path most trainers take (TRL's on CPU);
- ``HFEngine plain``: rlvr's sampling loop over HF's forward with a DynamicCache (``lean=False``);
- ``HFEngine lean``: rlvr's default on CPU, :class:`rl.forward.llama.LeanDecoder` (a static KV
  cache, fused q/k/v and gate/up, each prompt read once then fanned out to its samples);
- ``vLLM CPU``: ``VLLMEngine`` on vLLM's CPU build (where installed), float32, eager;
- ``matmul floor``: the time of the decode step's matrix multiplies alone (every linear layer and
  the LM head on a batch of 32 rows), as tokens/s: what the arithmetic costs, the ceiling no engine
  passes.

Each engine runs ``--repeats`` times after a warm-up call; the median counts. Tokens are the
completion tokens each engine produced (EOS included), so an engine that stops earlier is not
rewarded for it: tokens/s divides by its own tokens.

Run: ``.venv/bin/python tests/bench/bench_generation.py``; writes
``tests/bench/results/bench_generation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def prompts(tokenizer, count: int) -> list[list[int]]:
    from envs import load_tasks

    tasks = list(load_tasks("bundled:arith"))[:count]
    return [
        tokenizer.apply_chat_template(
            [dict(m) for m in t.prompt],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=False,
        )
        for t in tasks
    ]


def measure(engine, ids, params, repeats: int) -> dict:
    engine.generate(ids[:1], params)  # warm-up (allocations, first-call paths)
    rates, tokens = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = engine.generate(ids, params)
        dt = time.perf_counter() - t0
        n = sum(len(c.token_ids) for g in out for c in g)
        rates.append(n / dt)
        tokens.append(n)
    return {
        "tokens_per_s": statistics.median(rates),
        "runs": [round(r, 1) for r in rates],
        "tokens": tokens,
    }


def matmul_floor(model, rows: int, repeats: int = 20) -> float:
    """Tokens/s if a decode step cost only its matrix multiplies (``rows`` sequences, one token
    each)."""
    linears = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if (
        model.lm_head.weight is not model.model.embed_tokens.weight
        and model.lm_head.weight not in linears
    ):
        linears.append(model.lm_head.weight)
    xs = [torch.randn(rows, w.shape[1]) for w in linears]
    with torch.inference_mode():
        for x, w in zip(xs, linears):
            x @ w.T
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for x, w in zip(xs, linears):
                x @ w.T
            times.append(time.perf_counter() - t0)
    return rows / statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache", type=Path, default=HERE.parent.parent / "out" / "models")
    parser.add_argument("--skip-vllm", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_generation.json")
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    from bench_real_model import model_path

    import transformers

    from rl.engines.base import SamplingParams
    from rl.engines.hf import HFEngine
    from rl.trainer import load_policy

    path = model_path(a.cache)
    model, tok = load_policy(path, "cpu")
    model.eval()
    ids = prompts(tok, a.prompts)
    params = SamplingParams(n=a.n, temperature=0.7, max_tokens=a.max_new, seed=0)
    rows: dict[str, dict] = {}
    engines = {
        "transformers generate": HFEngine(model, tok, use_generate=True),
        "HFEngine plain": HFEngine(model, tok, lean=False),
        "HFEngine lean": HFEngine(model, tok),
    }
    for name, engine in engines.items():
        rows[name] = measure(engine, ids, params, a.repeats)
        print(f"{name:>22}: {rows[name]['tokens_per_s']:7.1f} tokens/s", flush=True)
    if not a.skip_vllm:
        from rl.engines.vllm_engine import VLLMEngine

        engine = VLLMEngine(path, dtype="float32", max_model_len=1024, device="cpu", seed=0)
        rows["vLLM CPU"] = measure(engine, ids, params, a.repeats)
        print(f"{'vLLM CPU':>22}: {rows['vLLM CPU']['tokens_per_s']:7.1f} tokens/s", flush=True)
    floor = matmul_floor(model, a.prompts * a.n)
    base = rows["transformers generate"]["tokens_per_s"]
    result = {
        "benchmark": "bench_generation",
        "model": "SmolLM2-135M-Instruct (float32)",
        "batch": {
            "prompts": a.prompts,
            "n": a.n,
            "sequences": a.prompts * a.n,
            "max_new_tokens": a.max_new,
            "temperature": 0.7,
        },
        "baseline": "transformers generate",
        "engines": {k: {**v, "vs_baseline": v["tokens_per_s"] / base} for k, v in rows.items()},
        "matmul_floor_tokens_per_s": floor,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "threads": a.threads,
            "cpus": os.cpu_count(),
        },
    }
    print(f"{'matmul floor':>22}: {floor:7.1f} tokens/s")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
