"""Benchmark: ``rlvr grade --workers 2`` on mixed math, start-up included, vs a math-verify loop.

Both sides run as fresh processes on the same items (``math_workload.generate(N, seed)``), so
interpreter start, imports, the worker pool and the CAS helper are all counted:

* ours: ``rlvr grade ITEMS -o OUT --workers 2`` (``verifier`` per line: ``math@1`` or ``math@2``);
* baseline: ``python -c`` running ``math_verify.verify(parse("$" + gold + "$"), parse(response))``
  in a plain loop (math-verify's default settings).

Reports wall seconds, items/s and accuracy against the workload's labels, and the ratio of wall
times. Run: ``.venv/bin/python tests/bench/bench_grade_math.py [--items 3000] [--repeats 3]``;
writes ``tests/bench/results/grade_math.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import math_workload  # noqa: E402

RESULTS = HERE / "results" / "grade_math.json"
BASELINE = """
import json, logging, sys
from math_verify import parse, verify
logging.disable(logging.WARNING)
out = []
for line in open(sys.argv[1], encoding="utf-8"):
    item = json.loads(line)
    gold = parse("$" + str(item["reference"]["answer"]) + "$")
    out.append(bool(verify(gold, parse(item["response"]))))
json.dump(out, open(sys.argv[2], "w"))
"""


def write_items(items: list[dict], spec: str, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for n, item in enumerate(items):
            fh.write(
                json.dumps(
                    {
                        "id": n,
                        "verifier": spec,
                        "response": item["response"],
                        "reference": item["reference"],
                    }
                )
                + "\n"
            )


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def run_rlvr(items_path: Path, out_path: Path) -> tuple[float, list[bool]]:
    rlvr = Path(sys.executable).with_name("rlvr")
    seconds = timed([str(rlvr), "grade", str(items_path), "-o", str(out_path), "--workers", "2"])
    verdicts = [
        json.loads(line)["verdict"]["status"] == "pass"
        for line in out_path.read_text().splitlines()
    ]
    return seconds, verdicts


def run_baseline(items_path: Path, out_path: Path) -> tuple[float, list[bool]]:
    seconds = timed([sys.executable, "-c", BASELINE, str(items_path), str(out_path)])
    return seconds, json.loads(out_path.read_text())


def summary(name: str, runs: list[tuple[float, list[bool]]], labels: list[bool]) -> dict:
    seconds = statistics.median(s for s, _ in runs)
    predicted = runs[0][1]
    fp = sum(p and not t for p, t in zip(predicted, labels))
    fn = sum(t and not p for p, t in zip(predicted, labels))
    row = {
        "wall_s_median": round(seconds, 2),
        "wall_s_runs": [round(s, 2) for s, _ in runs],
        "items_per_s": round(len(labels) / seconds, 1),
        "accuracy": round(1 - (fp + fn) / len(labels), 4),
        "false_positives": fp,
        "false_negatives": fn,
    }
    print(f"{name}: {row}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    args = parser.parse_args()
    items = math_workload.generate(args.items, args.seed)
    labels = [i["label"] for i in items]
    results = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "items": args.items,
        "seed": args.seed,
        "workload": "tests/bench/math_workload.py",
        "ours": "rlvr grade ITEMS -o OUT --workers 2 (fresh process, start-up included)",
        "baseline": "math_verify.verify(parse('$'+gold+'$'), parse(response)) loop (fresh process)",
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        for spec in ("math@1", "math@2"):
            path = tmp_dir / f"{spec}.jsonl"
            write_items(items, spec, path)
            runs = [run_rlvr(path, tmp_dir / "out.jsonl") for _ in range(args.repeats)]
            results["runs"][spec] = summary(f"rlvr grade {spec}", runs, labels)
        write_items(items, "math@2", tmp_dir / "items.jsonl")
        runs = [
            run_baseline(tmp_dir / "items.jsonl", tmp_dir / "base.json")
            for _ in range(args.baseline_repeats)
        ]
        results["runs"]["math_verify_loop"] = summary("math-verify loop", runs, labels)
    base = results["runs"]["math_verify_loop"]["wall_s_median"]
    for spec in ("math@1", "math@2"):
        results[f"speedup_{spec}"] = round(base / results["runs"][spec]["wall_s_median"], 1)
    print(
        f"speedup (baseline wall / ours): math@1 {results['speedup_math@1']}x, math@2 "
        f"{results['speedup_math@2']}x"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
