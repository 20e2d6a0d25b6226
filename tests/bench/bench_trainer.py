"""Seconds per GRPO step: rlvr's trainer vs TRL's ``GRPOTrainer`` on one identical tiny CPU setup.

Same tiny model (2-layer Llama, hidden 64, built locally from a character tokenizer), same tasks
("1=" -> 7, "2=" -> 3, "3=" -> 5, "4=" -> 8), same real ``math@1`` verifier, group size G=8, 4
prompts per step (32 completions), max 8 new tokens, temperature 1, one optimisation pass, no KL,
the ``grpo`` loss, AdamW at the same learning rate, the same number of steps, the same torch thread
count. rlvr grades through its gymnasium env (a one-process grading pool, each rollout wave sent as
one batch; and, as a second row, in-process); TRL grades with a reward function calling the same
verifier in-process (a slight advantage to TRL).

rlvr samples and recomputes log-probs with ``rl.forward.llama`` (the same Llama maths on the same
weights without HF's per-call overhead; same tokens, log-probs and gradients as HF's forward, pinned
by ``tests/rl/test_rl_forward_llama.py``); TRL runs HF's forward. Neither side uses
``torch.compile``, so there is no compile time to report.

A step's seconds run from its start to the start of the next step (:class:`StepClock`), so each
trainer pays for all of its per-step work wherever its loop does it (TRL's logging and optimiser
step happen after its ``on_step_end``; rlvr's recording and metrics inside ``train_step``).
CPU seconds per step count this process *and its child processes* (the grading workers, read
from ``/proc``; 0 where there is no ``/proc``), so a process pool cannot hide work; the children are
read at the two ends of the run only. Wall time on a shared machine is noisy: compare CPU too.

Run: ``.venv/bin/python tests/bench/bench_trainer.py [--steps 12]``; writes
``tests/bench/results/bench_trainer.json`` (``--out`` names another file) and prints a table. The
first step of each trainer is reported separately (warm-up) and excluded from the per-step median.
``--prompt-pad N`` leads every prompt with N filler characters: the same task with long prompts
(``--prompt-pad 64 --max-new 16 --out bench_trainer_long_prompts.json`` is the second recorded run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
TASKS = [
    {"id": f"t{i}", "prompt": f"{i}=", "reference": {"answer": gold}}
    for i, gold in zip("1234", "7358")
]


def tasks(prompt_pad: int) -> list[dict]:
    """The four tasks, each prompt led by ``prompt_pad`` filler characters (longer prompts, same
    answers)."""
    return [{**t, "prompt": "?" * prompt_pad + t["prompt"]} for t in TASKS]


ENV_ID = "rlvrbench/DigitAnswer-v0"


def children_cpu() -> float:
    """CPU seconds of this process's live descendants (grading workers) plus its reaped children."""
    import resource

    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total, parents, ticks = reaped.ru_utime + reaped.ru_stime, {}, os.sysconf("SC_CLK_TCK")
    try:
        names = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return total
    for d in names:
        try:
            fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    family = {os.getpid()}
    for _ in range(4):  # workers and anything they started, a few levels down
        family |= {pid for pid, (ppid, _) in parents.items() if ppid in family}
    return total + sum(
        cpu for pid, (_, cpu) in parents.items() if pid in family and pid != os.getpid()
    )


class StepClock:
    """Per-step wall and CPU seconds as intervals between consecutive step *starts*.

    Step ``i`` costs everything from its start to the start of step ``i + 1`` (the last one ends at
    :meth:`end`), so each trainer pays for all of its own per-step work: logging, callbacks, data
    loading, the optimiser step, recording, wherever its loop happens to do it. CPU adds the
    grading workers' seconds (``children_cpu``, read only at the two ends of the run so the reading
    itself costs no step anything), spread evenly over the steps.
    """

    def __init__(self) -> None:
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.children = children_cpu()

    def begin(self) -> None:
        self.walls.append(time.perf_counter())
        self.cpus.append(time.process_time())

    def end(self) -> None:
        self.begin()
        self.children = children_cpu() - self.children

    def result(self) -> dict:
        steps = max(1, len(self.walls) - 1)
        share = self.children / steps
        wall = [b - a for a, b in zip(self.walls, self.walls[1:])]
        cpu = [b - a + share for a, b in zip(self.cpus, self.cpus[1:])]
        return {"step_s": wall, "cpu_s": cpu}


def setup(tmp: Path) -> str:
    from rl.tiny import make_tiny_model

    return make_tiny_model(tmp / "model", alphabet="0123456789+=?", hidden_size=64, num_layers=2)


def run_rlvr(model_path: str, out: Path, a, grading_workers: int = 1, seed: int = 0) -> dict:
    import envs
    from rl.config import GRPOConfig
    from rl.trainer import GRPOTrainer

    envs.register_env(ENV_ID, verifier="math@1", tasks=tasks(a.prompt_pad), replace=True)
    cfg = GRPOConfig(
        env=ENV_ID,
        model=model_path,
        loss="grpo",
        group_size=a.group,
        prompts_per_step=a.prompts,
        micro_batch_size=a.group * a.prompts,
        max_new_tokens=a.max_new,
        steps=a.steps,
        lr=a.lr,
        seed=seed,
        output_dir=str(out),
        progress=False,
        tensorboard=False,
        record_format="jsonl",
        grading_workers=grading_workers,
        max_grad_norm=1.0,
        tis_cap=None,
    )
    trainer = GRPOTrainer(cfg)
    run = timed_steps(trainer, a.steps)
    trainer.close()
    return run


def timed_steps(trainer, steps: int, echo=None) -> dict:
    """Run ``steps`` trainer steps on a :class:`StepClock`: step seconds, CPU seconds, rewards, and
    the median seconds of each phase after the first step. ``echo(metrics)`` is called after each
    step, if given."""
    rewards, phases, clock = [], {"t_generate": [], "t_grade": [], "t_update": []}, StepClock()
    for _ in range(steps):
        clock.begin()
        m = trainer.train_step()
        rewards.append(m["reward_mean"])
        for key in phases:
            phases[key].append(m[key])
        if echo is not None:
            echo(m)
    clock.end()
    return {
        **clock.result(),
        "reward": rewards,
        "phases_median_s": {k: round(statistics.median(v[1:] or v), 4) for k, v in phases.items()},
    }


def run_trl(model_path: str, out: Path, a, seed: int = 0) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    import verifiers

    math = verifiers.get("math@1")

    def reward(completions, answer, **kwargs):
        return [math.verify(c, {"answer": g}).score for c, g in zip(completions, answer)]

    rewards, clock = [], StepClock()
    rows = [tasks(a.prompt_pad)[i % 4] for i in range(a.prompts * a.steps * 2)]
    data = Dataset.from_dict(
        {"prompt": [t["prompt"] for t in rows], "answer": [t["reference"]["answer"] for t in rows]}
    )
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
        per_device_train_batch_size=a.group * a.prompts,
        num_generations=a.group,
        max_completion_length=a.max_new,
        temperature=1.0,
        top_k=0,
        beta=0.0,
        num_iterations=1,
        loss_type="grpo",
        scale_rewards="group",
        max_grad_norm=1.0,
        seed=seed,
        warmup_steps=0,
        weight_decay=0.0,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=args,
        train_dataset=data,
        processing_class=tok,
        callbacks=[trl_timer(clock, rewards)],
    )
    trainer.train()
    return {**clock.result(), "reward": rewards}


def trl_timer(clock: StepClock, rewards: list[float], echo: bool = False):
    """A TRL ``TrainerCallback`` that times each step on ``clock`` and appends each logged mean
    reward."""
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            clock.begin()

        def on_train_end(self, args, state, control, **kw):
            clock.end()

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "reward" in logs:
                rewards.append(logs["reward"])
                if echo:
                    print(
                        f"  TRL step {state.global_step}: reward {logs['reward']:.3f}", flush=True
                    )

    return Timer()


def summarise(name: str, reps: list[dict]) -> dict:
    """Speed per repeat (one seed each) is the median step after the first; the headline is the
    median of those over the seeds (the best seed is kept too). Learning: curves averaged over the
    seeds."""
    walls = [statistics.median(r["step_s"][1:]) for r in reps]
    cpus = [statistics.median(r["cpu_s"][1:]) for r in reps]
    best = reps[walls.index(min(walls))]
    steps = min(len(r["reward"]) for r in reps)
    curve = [sum(r["reward"][i] for r in reps) / len(reps) for i in range(steps)]
    out = {
        "trainer": name,
        "median_step_s": round(statistics.median(walls), 4),
        "median_cpu_s": round(statistics.median(cpus), 4),
        "best_seed_step_s": round(min(walls), 4),
        "first_step_s": round(statistics.median(r["step_s"][0] for r in reps), 4),
        "reward_first": round(curve[0], 4),
        "reward_last5_mean": round(sum(curve[-5:]) / 5, 4),
        "reward_last5_per_seed": [round(sum(r["reward"][steps - 5 : steps]) / 5, 4) for r in reps],
        "reward_curve_mean_over_seeds": [round(x, 4) for x in curve],
        "all_repeat_medians_s": [round(x, 4) for x in walls],
        "all_repeat_cpu_medians_s": [round(x, 4) for x in cpus],
    }
    if "phases_median_s" in best:
        out["phases_median_s_best_seed"] = best["phases_median_s"]
    return out


def compare_learning(ours: dict, theirs: dict) -> dict:
    """Last-5-step mean reward per seed, both trainers: means, standard errors, and the difference
    with a normal 95% interval (seeds are independent runs, so the two samples are unpaired)."""

    def mean_se(xs: list[float]) -> tuple[float, float]:
        m = sum(xs) / len(xs)
        var = sum((x - m) ** 2 for x in xs) / max(1, len(xs) - 1)
        return m, (var / len(xs)) ** 0.5

    (m1, se1), (m2, se2) = (
        mean_se(ours["reward_last5_per_seed"]),
        mean_se(theirs["reward_last5_per_seed"]),
    )
    half = 1.96 * (se1**2 + se2**2) ** 0.5
    diff = m1 - m2
    return {
        "seeds": len(ours["reward_last5_per_seed"]),
        "rlvr_mean": round(m1, 4),
        "rlvr_se": round(se1, 4),
        "trl_mean": round(m2, 4),
        "trl_se": round(se2, 4),
        "difference": round(diff, 4),
        "difference_ci95": [round(diff - half, 4), round(diff + half, 4)],
        "reading": (
            "rlvr learns better"
            if diff - half > 0
            else "rlvr learns worse"
            if diff + half < 0
            else "no difference detectable at this number of seeds"
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--max-new", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument(
        "--prompt-pad", type=int, default=0, help="filler characters before each prompt"
    )
    parser.add_argument(
        "--out", default="bench_trainer.json", help="file name under tests/bench/results/"
    )
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.logging.set_verbosity_error()
    runs: dict[str, list[dict]] = {
        "rlvr (process-pool grading)": [],
        "rlvr (in-process grading)": [],
        "TRL GRPOTrainer": [],
    }
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_path = setup(tmp)
        # interleaved, so load spikes on the shared machine hit all three
        for rep in range(a.repeats):
            runs["rlvr (process-pool grading)"].append(
                run_rlvr(model_path, tmp / f"rlvr-pool-{rep}", a, 1, seed=rep)
            )
            runs["rlvr (in-process grading)"].append(
                run_rlvr(model_path, tmp / f"rlvr-inline-{rep}", a, 0, seed=rep)
            )
            runs["TRL GRPOTrainer"].append(run_trl(model_path, tmp / f"trl-{rep}", a, seed=rep))
    summaries = [summarise(name, reps) for name, reps in runs.items()]
    trl = summaries[-1]
    for s_ in summaries:
        s_["ratio_vs_trl"] = round(s_["median_step_s"] / trl["median_step_s"], 4)
        s_["cpu_ratio_vs_trl"] = round(s_["median_cpu_s"] / trl["median_cpu_s"], 4)
        s_["best_seed_ratio_vs_trl"] = round(s_["best_seed_step_s"] / trl["best_seed_step_s"], 4)
        s_["median_per_seed_ratio_vs_trl"] = round(
            statistics.median(
                a / b for a, b in zip(s_["all_repeat_medians_s"], trl["all_repeat_medians_s"])
            ),
            4,
        )
    learning = compare_learning(summaries[1], summaries[-1])
    result = {
        "benchmark": "grpo_step_time_cpu",
        "config": vars(a),
        "results": summaries,
        "learning": learning,
        "target": "rlvr median step time <= 0.5 x TRL's, last-5 reward >= TRL's",
        "forward": {
            "rlvr": "rl.forward.llama (static-cache sampler + lean training forward; HF-exact)",
            "trl": "transformers LlamaForCausalLM forward",
            "torch_compile": "none on either side",
        },
        "method": "repeats run interleaved with seeds 0..R-1; a step = start of one step to start "
        "of the next (everything each trainer does per step); per seed, the median step after the "
        "first (warm-up); speed = median of that over the seeds (best seed also given); learning = "
        "last-5-step reward per seed, compared with a 95% interval",
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": a.threads,
            "load_average_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
            "note": "shared machine loaded by other jobs; load_average_start_end is the 1-minute "
            "load",
        },
    }
    try:
        import trl

        result["machine"]["trl"] = trl.__version__
    except ImportError:
        pass
    print(
        f"| {'trainer':<28} | wall s/step, median over seeds | vs TRL | CPU s/step | vs TRL "
        "| per-seed ratio, median | best seed s/step | vs TRL | reward step 0 | reward last 5 |"
    )
    print(
        f"|{'-' * 30}|--------------------------------|--------|------------|--------"
        "|------------------------|------------------|--------|---------------|---------------|"
    )
    for r in summaries:
        print(
            f"| {r['trainer']:<28} | {r['median_step_s']:>30.4f} | {r['ratio_vs_trl']:>6.2f} "
            f"| {r['median_cpu_s']:>10.4f} | {r['cpu_ratio_vs_trl']:>6.2f} "
            f"| {r['median_per_seed_ratio_vs_trl']:>22.2f} "
            f"| {r['best_seed_step_s']:>16.4f} | {r['best_seed_ratio_vs_trl']:>6.2f} "
            f"| {r['reward_first']:>13.3f} | {r['reward_last5_mean']:>13.3f} |"
        )
    for r in summaries[:2]:
        print(f"{r['trainer']} phases, best seed (median s): {r.get('phases_median_s_best_seed')}")
    print(
        f"learning, last-5 reward over {learning['seeds']} seeds: rlvr {learning['rlvr_mean']:.3f} "
        f"± {learning['rlvr_se']:.3f}, TRL {learning['trl_mean']:.3f} ± {learning['trl_se']:.3f}; "
        f"difference {learning['difference']:+.3f}, 95% CI {learning['difference_ci95']}: "
        f"{learning['reading']}"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / a.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
