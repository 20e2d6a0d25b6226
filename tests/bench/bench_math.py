"""Benchmark: math@1 against raw math-verify, on the golden table and a 5,000-item mixed workload.

Baseline, measured in the same run: ``math_verify.verify(parse("$" + gold + "$"), parse(response))``
with math-verify's default settings (its signal-based 5 s timeouts, main thread). Reports, side
by side: accuracy, false positives and false negatives (a "positive" is a pass), and throughput
in items/s, single process and through ``verifiers.grade_batch`` on 2 workers.

Run: ``.venv/bin/python tests/bench/bench_math.py [--items 5000] [--seed 0]``; writes
``tests/bench/results/math_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import math_workload  # noqa: E402

import verifiers  # noqa: E402
from verifiers import BaseVerifier, GradeItem, Outcome, grade_batch, register  # noqa: E402
from verifiers.math import MathVerifier  # noqa: E402
from verifiers.math.verifier import helper_for  # noqa: E402

GOLDEN = HERE.parents[1] / "verifiers" / "golden" / "math@1.jsonl"
RESULTS = HERE / "results" / "math_bench.json"


class MathVerifyRaw(BaseVerifier):
    """Bench-only wrapper: raw ``math_verify.verify(parse(gold), parse(response))`` as a verifier.

    Versions: 1 - first version.
    """

    name, version, description = "bench_math_verify_raw", 1, "raw math-verify (benchmark baseline)"

    def check(self, response, reference):
        from math_verify import parse, verify

        gold = parse("$" + str(reference.get("answer", "")) + "$")
        if verify(gold, parse(response)):
            return Outcome.passed()
        return Outcome.failed("wrong_answer")


def golden_items() -> list[dict[str, Any]]:
    rows = [
        json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [
        {
            "reference": r["reference"],
            "response": r["response"],
            "label": r["status"] == "pass",
            "kind": r["note"],
        }
        for r in rows
    ]


def score(labels: list[bool], predicted: list[bool]) -> dict[str, Any]:
    fp = sum(p and not t for t, p in zip(labels, predicted))
    fn = sum(t and not p for t, p in zip(labels, predicted))
    return {
        "n": len(labels),
        "accuracy": round(1 - (fp + fn) / len(labels), 4),
        "false_positives": fp,
        "false_negatives": fn,
    }


def timed(fn: Callable[[], list[bool]]) -> tuple[list[bool], float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run_single(spec_or_instance: Any, items: list[dict[str, Any]]) -> list[bool]:
    verifier = spec_or_instance
    return [verifier.verify(i["response"], i["reference"]).passed for i in items]


def run_batch(spec: str, items: list[dict[str, Any]]) -> list[bool]:
    jobs = [GradeItem(i["response"], i["reference"], spec, n) for n, i in enumerate(items)]
    return [v.passed for v in grade_batch(jobs, workers=2, timeout_s=60)]


def measure(name: str, items: list[dict[str, Any]], batch: bool) -> dict[str, Any]:
    labels = [i["label"] for i in items]
    out: dict[str, Any] = {}
    for label, single, spec in (
        ("math@1", MathVerifier(), "math@1"),
        ("math_verify_raw", MathVerifyRaw(), "bench_math_verify_raw@1"),
    ):
        cold_caches()
        predicted, seconds = timed(lambda: run_single(single, items))
        row = score(labels, predicted) | {
            "single_s": round(seconds, 2),
            "single_items_per_s": round(len(items) / seconds, 1),
        }
        if batch:
            batch_pred, batch_s = timed(lambda: run_batch(spec, items))
            row |= {
                "batch2_s": round(batch_s, 2),
                "batch2_items_per_s": round(len(items) / batch_s, 1),
                "batch2_same_as_single": batch_pred == predicted,
            }
        out[label] = row
        print(f"[{name}] {label}: {row}", flush=True)
    mine, base = out["math@1"], out["math_verify_raw"]
    out["speedup_single"] = round(mine["single_items_per_s"] / base["single_items_per_s"], 2)
    if batch:
        out["speedup_batch2_vs_baseline_single"] = round(
            mine["batch2_items_per_s"] / base["single_items_per_s"], 2
        )
        out["speedup_batch2"] = round(mine["batch2_items_per_s"] / base["batch2_items_per_s"], 2)
    return out


def cold_caches() -> None:
    """Start each measurement cold: a fresh CAS helper, and math-verify's parse caches cleared."""
    from math_verify import parser

    helper_for(MathVerifier().config.memory_limit_mb).close()
    for cached in (parser.parse_latex_cached, parser.parse_expr_cached):
        cached.cache_clear()


def table(results: dict[str, Any]) -> str:
    lines = [
        "| set | grader | accuracy | FP | FN | single items/s | batch (2 workers) items/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for set_name, data in results["sets"].items():
        for grader in ("math@1", "math_verify_raw"):
            r = data[grader]
            lines.append(
                f"| {set_name} (n={r['n']}) | {grader} | {r['accuracy']:.4f} | "
                f"{r['false_positives']} | {r['false_negatives']} | {r['single_items_per_s']} | "
                f"{r.get('batch2_items_per_s', '-')} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-batch", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # math-verify logs every internal timeout
    register(MathVerifyRaw, replace=True)
    verifiers.get("math@1")
    workload = math_workload.generate(args.items, args.seed)
    sets = {
        "golden": golden_items(),
        "mixed": workload,
        "mixed_no_hostile": [i for i in workload if i["kind"] != "hostile"],
    }
    results = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, shared with other jobs (loaded)",
        "python": platform.python_version(),
        "seed": args.seed,
        "items": args.items,
        "baseline": "math_verify.verify(parse('$'+gold+'$'), parse(response)), default 5 s signal "
        "timeouts",
        "sets": {},
    }
    for name, items in sets.items():
        results["sets"][name] = measure(
            name, items, batch=not args.no_batch and name != "mixed_no_hostile"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
