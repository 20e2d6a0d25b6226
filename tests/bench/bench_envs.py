"""Benchmark: single-turn env steps per second on the bundled tasks, reference solutions as actions.

For each environment, three numbers over the same tasks:

* ``direct_verify``  - the baseline: ``verifiers.get(spec).verify(solution, reference)`` in-process,
  no environment, no executor;
* ``env_inline``     - ``reset`` + ``step`` with an ``InlineExecutor`` (environment overhead only);
* ``env_default``    - ``reset`` + ``step`` with the default bounded executor (one worker process,
  one round trip per step): what ``gymnasium.make(id)`` gives you.

Every measurement runs after an untimed pass over the same tasks, so verifier caches are warm in
all three (the default executor's worker is forked from the warm process). For ``math@1`` that
includes its table of decided (gold, extracted answer) pairs, so the Math rows time the path a
repeated final answer takes (common within a GRPO group), not a first decision; ``bench_math.py``
times first decisions.

``rlvr/ToolCall-v0`` is multi-turn; it is timed per episode (solution calls, then the final answer).
Run: ``.venv/bin/python tests/bench/bench_envs.py [--limit 200] [--out
tests/bench/results/envs.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import gymnasium

import envs
import verifiers
from verifiers import InlineExecutor

SINGLE_TURN = [
    "rlvr/Math-v0",
    "rlvr/JsonSchema-v0",
    "rlvr/XmlSchema-v0",
    "rlvr/ToolCallSingle-v0",
    "rlvr/Code-v0",
]


def run_env(env_id: str, limit: int, executor=None) -> tuple[float, int, int]:
    """Seconds for ``limit`` reset+step pairs, the number of steps, and how many passed."""
    env = gymnasium.make(env_id, **({"executor": executor} if executor is not None else {}))
    count = min(limit, len(env.unwrapped.tasks))
    passed = 0
    env.reset(options={"task_index": 0})  # warm up (worker start, imports, schema caches)
    env.step(env.unwrapped.task.solution)
    start = time.perf_counter()
    for index in range(count):
        env.reset(options={"task_index": index})
        task = env.unwrapped.task
        _, reward, *_, info = env.step(task.solution)
        if env_id == "rlvr/ToolCall-v0":
            _, reward, *_ = env.step(task.meta["final_answer"])
        passed += reward == 1.0
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed, count, passed


def run_direct(env_id: str, limit: int) -> tuple[float, int]:
    spec = envs.BUILTIN_ENVS[env_id][0]
    tasks = envs.load_tasks(envs.BUILTIN_ENVS[env_id][1])
    verifier = verifiers.get(spec)
    count = min(limit, len(tasks))
    # warm pass: schema/validator caches, lazy imports (workers fork warm)
    for index in range(count):
        verifier.verify(tasks[index].solution, tasks[index].reference)
    start = time.perf_counter()
    for index in range(count):
        verifier.verify(tasks[index].solution, tasks[index].reference)
    return time.perf_counter() - start, count


def bench(env_id: str, limit: int) -> dict:
    row: dict = {"env": env_id, "verifier": envs.BUILTIN_ENVS[env_id][0]}
    try:
        seconds, count = run_direct(env_id, limit)
    except Exception as exc:  # e.g. the task set or verifier is missing
        return {**row, "error": f"{type(exc).__name__}: {exc}"}
    row["direct_verify_per_s"] = count / seconds
    seconds, count, passed = run_env(env_id, limit, InlineExecutor())
    row["env_inline_steps_per_s"], row["inline_passed"] = count / seconds, f"{passed}/{count}"
    seconds, count, passed = run_env(env_id, limit)
    row["env_default_steps_per_s"], row["default_passed"] = count / seconds, f"{passed}/{count}"
    row["inline_vs_direct"] = row["env_inline_steps_per_s"] / row["direct_verify_per_s"]
    row["default_vs_direct"] = row["env_default_steps_per_s"] / row["direct_verify_per_s"]
    return row


def bench_multi_turn(limit: int) -> dict:
    run_direct("rlvr/ToolCallSingle-v0", limit)
    seconds, count, passed = run_env("rlvr/ToolCall-v0", limit, InlineExecutor())
    row = {
        "env": "rlvr/ToolCall-v0",
        "verifier": "tool_call@1",
        "inline_episodes_per_s": count / seconds,
        "inline_passed": f"{passed}/{count}",
    }
    seconds, count, passed = run_env("rlvr/ToolCall-v0", limit)
    row.update(default_episodes_per_s=count / seconds, default_passed=f"{passed}/{count}")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200, help="tasks per environment")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "envs.json")
    args = parser.parse_args()
    rows = [bench(env_id, args.limit) for env_id in SINGLE_TURN]
    multi = bench_multi_turn(args.limit)
    print(
        f"{'env':<24}{'direct/s':>10}{'inline/s':>10}{'default/s':>11}"
        f"{'inl/dir':>9}{'def/dir':>9}  passed"
    )
    for row in rows:
        if "error" in row:
            print(f"{row['env']:<24}  not run: {row['error'][:90]}")
            continue
        print(
            f"{row['env']:<24}{row['direct_verify_per_s']:>10.0f}"
            f"{row['env_inline_steps_per_s']:>10.0f}{row['env_default_steps_per_s']:>11.0f}"
            f"{row['inline_vs_direct']:>9.2f}{row['default_vs_direct']:>9.2f}"
            f"  {row['default_passed']}"
        )
    print(
        f"rlvr/ToolCall-v0 (multi-turn episodes/s): inline {multi['inline_episodes_per_s']:.0f}, "
        f"default {multi['default_episodes_per_s']:.0f}, passed {multi['default_passed']}"
    )
    result = {
        "benchmark": "envs",
        "baseline": "direct_verify (verifier.verify in-process, no env)",
        "limit": args.limit,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "note": "shared 2-core machine loaded by other processes; ratios are more meaningful than "
        "rates",
        "single_turn": rows,
        "multi_turn": multi,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
