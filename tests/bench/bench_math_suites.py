"""Benchmark: ``math@1``, ``math@2`` and Math-Verify itself on the public math suites, side by side.

* Math-Verify's own test table (``../shared/conformance/mathverify/cases.jsonl``): the rows that use
  its default options, and all rows. Math-Verify is called with its defaults
  (``verify(parse(gold), parse(pred))``), so its score here is its agreement with its own table when
  a user calls it plainly (its tests pass options per row and then agree on every row).
* ProcessBench answer pairs (real model outputs, human labels; see
  ``tests/conformance/test_processbench_answers.py``): the gold is another model's solution labelled
  correct. ``math@2`` takes it as ``{"solution": ...}``; ``math@1`` and Math-Verify take its final
  answer as their own extraction finds it.

Reports agreement, false passes (a pass where the suite says wrong) and items/s, in-process, one
thread. Run: ``.venv/bin/python tests/bench/bench_math_suites.py``; writes
``tests/bench/results/math_suites.json``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "conformance")]

from test_mathverify_suite import uses_defaults  # noqa: E402
from test_processbench_answers import pairs  # noqa: E402

from verifiers.math import MathVerifier, MathVerifierV2  # noqa: E402
from verifiers.math.extract import extract_answer  # noqa: E402

RESULTS = HERE / "results" / "math_suites.json"
CASES = ROOT.parent / "shared" / "conformance" / "mathverify" / "cases.jsonl"


def math_verify(gold: str, response: str) -> bool:
    from math_verify import parse, verify

    return bool(verify(parse(gold), parse(response)))


def measure(rows: list[dict], judge: Callable[[dict], bool]) -> dict:
    start = time.perf_counter()
    got = [judge(r) for r in rows]
    seconds = time.perf_counter() - start
    agree = sum(g == r["expected"] for g, r in zip(got, rows))
    false_passes = sum(g and not r["expected"] for g, r in zip(got, rows))
    return {
        "n": len(rows),
        "agree": agree,
        "agreement": round(agree / len(rows), 4),
        "false_passes": false_passes,
        "items_per_s": round(len(rows) / seconds, 1),
    }


def table_judges() -> dict[str, Callable[[dict], bool]]:
    v1, v2 = MathVerifier(), MathVerifierV2()
    return {
        "math@1": lambda r: v1.verify(r["prediction"], {"answer": r["gold"]}).passed,
        "math@2": lambda r: v2.verify(r["prediction"], {"answer": r["gold"]}).passed,
        "math_verify_defaults": lambda r: math_verify(r["gold"], r["prediction"]),
    }


def pair_judges() -> dict[str, Callable[[dict], bool]]:
    v1, v2 = MathVerifier(), MathVerifierV2()

    def v1_judge(pair: dict) -> bool:
        gold = extract_answer(pair["gold"], "last_number")
        return gold is not None and v1.verify(pair["response"], {"answer": gold.text}).passed

    return {
        "math@1": v1_judge,
        "math@2": lambda p: v2.verify(p["response"], {"solution": p["gold"]}).passed,
        "math_verify_defaults": lambda p: math_verify(p["gold"], p["response"]),
    }


def main() -> None:
    logging.disable(logging.WARNING)
    rows = [
        json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    suites = {
        "mathverify_default_rows": [r for r in rows if uses_defaults(r)],
        "mathverify_all_rows": rows,
        "processbench_pairs": pairs(),
    }
    results = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "suites": {},
    }
    for name, items in suites.items():
        judges = pair_judges() if name == "processbench_pairs" else table_judges()
        results["suites"][name] = {
            grader: measure(items, judge) for grader, judge in judges.items()
        }
        for grader, row in results["suites"][name].items():
            print(f"[{name}] {grader}: {row}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
