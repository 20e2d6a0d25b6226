"""Throughput of ``code@2`` against ``code@1`` (the baseline), side by side, Docker backend.

Run: ``.venv/bin/python tests/bench/bench_code.py [--rounds 3] [--suites humaneval mbpp]``. Writes
``tests/bench/results/code_bench.json``. Reads the public suites from ``../shared/conformance/``.

Both versions grade the same canonical solutions (HumanEval: ``prompt + canonical_solution``;
MBPP: ``code`` with ``test_list`` and ``test_setup_code``) in this process, one verification at a
time, on ONE shared warm Docker sandbox. Items are interleaved (item i: @1 then @2, item i+1: @2
then @1, ...) over several rounds, so load from other jobs on the machine hits both versions
alike. Reported per version: verdicts/s (items / summed latency), median and p99 latency, and
statuses; plus the same over the items where ``code@1`` actually runs the tests (it answers
``error: bad_reference`` on 7 HumanEval problems in well under a millisecond, which flatters
its average), and the ratio @2 / @1. ``code@2`` caches its test plan per reference (a GRPO group
grades several responses to one task), so later rounds reuse it; ``first_round`` is the cold
figure (each reference seen for the first time, by both versions).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from verifiers.code import CodeConfig, CodeVerifier, CodeVerifierV2  # noqa: E402

SUITES = ROOT.parent / "shared" / "conformance"
RESULTS = Path(__file__).parent / "results" / "code_bench.json"
CASE_TIMEOUT_S = 30.0


def load(suite: str) -> list[tuple[str, str, dict]]:
    """``(task id, program, reference)`` for every problem of ``suite``."""
    if suite == "humaneval":
        with gzip.open(SUITES / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as fh:
            tasks = [json.loads(line) for line in fh if line.strip()]
        return [
            (
                t["task_id"],
                t["prompt"] + t["canonical_solution"],
                {"tests": t["test"], "entry_point": t["entry_point"], "prompt": t["prompt"]},
            )
            for t in tasks
        ]
    with open(SUITES / "mbpp" / "mbpp.jsonl", encoding="utf-8") as fh:
        tasks = [json.loads(line) for line in fh if line.strip()]
    return [
        (
            str(t["task_id"]),
            t["code"],
            {"tests": "\n".join(t["test_list"]), "test_setup_code": t["test_setup_code"]},
        )
        for t in tasks
    ]


def measure(items, verifiers: dict, rounds: int) -> dict[str, dict[str, list]]:
    """Per version: per-item latencies (all rounds) and the statuses of the first round."""
    seen = {name: {"latency": [], "status": {}} for name in verifiers}
    names = list(verifiers)
    for round_index in range(rounds):
        for i, (task_id, program, reference) in enumerate(items):
            order = names if (i + round_index) % 2 == 0 else names[::-1]
            for name in order:
                start = time.perf_counter()
                verdict = verifiers[name].verify(program, reference)
                seen[name]["latency"].append((task_id, round_index, time.perf_counter() - start))
                seen[name]["status"].setdefault(task_id, verdict.status.value)
    return seen


def stats(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "verdicts_per_s": round(len(ordered) / sum(ordered), 2),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
    }


def report(suite: str, seen: dict) -> dict:
    baseline = seen["code@1"]
    runs = {task for task, status in baseline["status"].items() if status != "error"}
    out = {}
    for name, data in seen.items():
        out[name] = {
            "all": stats([s for _, _, s in data["latency"]]),
            "where_code@1_runs_the_tests": stats([s for t, _, s in data["latency"] if t in runs]),
            "first_round": stats([s for _, r, s in data["latency"] if r == 0]),
            "statuses": dict(Counter(data["status"].values())),
        }
    for scope in ("all", "where_code@1_runs_the_tests", "first_round"):
        ratio = out["code@2"][scope]["verdicts_per_s"] / out["code@1"][scope]["verdicts_per_s"]
        out[f"ratio_code@2_over_code@1_{scope}"] = round(ratio, 3)
        print(
            f"  {suite:<10} {scope:<28} code@1 {out['code@1'][scope]['verdicts_per_s']:>7.2f}/s   "
            f"code@2 {out['code@2'][scope]['verdicts_per_s']:>7.2f}/s   ratio {ratio:.3f}",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--suites", nargs="+", default=["humaneval", "mbpp"], choices=["humaneval", "mbpp"]
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from sandbox import open_sandbox

    box = open_sandbox("docker")
    config = CodeConfig(case_timeout_s=CASE_TIMEOUT_S)
    verifiers = {
        "code@1": CodeVerifier(config, sandbox=box),
        "code@2": CodeVerifierV2(config, sandbox=box),
    }
    results = {}
    try:
        for suite in args.suites:
            items = load(suite)
            measure(items[:5], verifiers, 1)  # warm up the pool and the grader's caches
            results[suite] = report(suite, measure(items, verifiers, args.rounds))
    finally:
        box.close()
    record = {
        "benchmark": "bench_code",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "note": "shared machine, other jobs running; sequential verifications, interleaved "
            "@1/@2",
        },
        "settings": {
            "backend": "docker",
            "rounds": args.rounds,
            "case_timeout_s": CASE_TIMEOUT_S,
            "baseline": "code@1",
        },
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
