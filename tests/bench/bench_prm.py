"""Benchmark of the PRM store: import 1M generated steps, query one trajectory, export to TRL.

Run as a script (not collected by pytest):

    .venv/bin/python tests/bench/bench_prm.py [--steps 1000000] [--out tests/bench/results/prm.json]

Targets (issue #7): import >= 100k steps/s, a trajectory query < 5 ms, whole TRL export < 30 s.
Baselines measured in the same run on a slice of the same data:

* import: ``naive_api`` - the per-item public API (add_problem / add_trajectory / add_segmentation /
  add_labels), one transaction per call, as a user looping over records would write it.
* export: ``naive_api`` - one ``steps()`` + ``current_labels()`` call per trajectory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rl.prm.exporters import export_trl, trl_example  # noqa: E402
from rl.prm.importers import import_file  # noqa: E402
from rl.prm.store import PrmStore  # noqa: E402


def generate(path: Path, lines: int, steps_per_line: int, seed: int = 0) -> int:
    """Write a PRM800K-style JSONL file; returns the number of steps."""
    rng = random.Random(seed)
    with open(path, "w") as out:
        for n in range(lines):
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            steps = [
                f"Step {k}: line {n} computes {a} * {k} = {a * k} and adds {b}."
                for k in range(steps_per_line)
            ]
            ratings = [rng.choice((1, 1, 1, 0, -1)) for _ in steps]
            row = {
                "labeler": f"labeler-{n % 17}",
                "timestamp": "2023-01-22T04:34:27.052924",
                "generation": 1,
                "is_quality_control_question": False,
                "is_initial_screening_question": False,
                "question": {
                    "problem": f"Problem {n % 5000}: compute {a} times {b}.",
                    "ground_truth_answer": str(a * b),
                    "pre_generated_steps": steps,
                    "pre_generated_answer": str(a * b),
                },
                "label": {
                    "steps": [
                        {
                            "completions": [{"text": s, "rating": r, "flagged": None}],
                            "human_completion": None,
                            "chosen_completion": 0,
                        }
                        for s, r in zip(steps, ratings)
                    ],
                    "total_time": 1000,
                    "finish_reason": "solution",
                },
            }
            out.write(json.dumps(row) + "\n")
    return lines * steps_per_line


def naive_import(store: PrmStore, path: Path, max_lines: int) -> tuple[int, float]:
    from rl.prm.records import LabelEvent

    steps = 0
    start = time.perf_counter()
    with open(path) as fh:
        for n, line in enumerate(fh):
            if n >= max_lines:
                break
            row = json.loads(line)
            q = row["question"]
            p = store.add_problem(q["problem"], gold_answer=q["ground_truth_answer"])
            t = store.add_trajectory(p.id, "\n".join(q["pre_generated_steps"]), generator="naive")
            got = store.add_segmentation(t.id, method="newline@1")
            store.add_labels(
                [
                    LabelEvent(
                        step_id=s.id,
                        value=st["completions"][0]["rating"],
                        annotator_kind="human",
                        annotator_id=row["labeler"],
                    )
                    for s, st in zip(got, row["label"]["steps"])
                ]
            )
            steps += len(got)
    return steps, time.perf_counter() - start


def timed_import(db: Path, data: Path, total: int, **options) -> tuple[float, float]:
    """(wall s, CPU s of this process and of the worker processes it waited for) of one import."""
    store = PrmStore(db)
    before, start = os.times(), time.perf_counter()
    report = import_file(store, data, "prm800k", batch_lines=5000, **options)
    wall, after = time.perf_counter() - start, os.times()
    assert report.steps == total, report
    store.close()
    # user, system, children user, children system
    cpu = sum(after[i] - before[i] for i in range(4))
    return wall, cpu


def _previous(out: Path) -> dict | None:
    """The headline figures of the result file this run replaces (for the "vs previous" columns)."""
    try:
        old = json.loads(out.read_text())
    except (OSError, ValueError):
        return None
    keep = {
        "import": ("steps_per_s", "steps_per_cpu_s", "validate_first_false"),
        "query": ("median_ms", "p99_ms"),
        "export_trl": ("seconds", "cpu_seconds", "steps_per_s"),
    }
    summary = {part: {k: old.get(part, {}).get(k) for k in keys} for part, keys in keep.items()}
    summary["loadavg_before"] = old.get("machine", {}).get("loadavg_before")
    summary["note"] = old.get(
        "previous_run_note", "the result file before this run, other code version"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--steps-per-trajectory", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "tests/bench/results/prm.json"))
    parser.add_argument("--keep", action="store_true", help="keep the generated file and databases")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_prm_"))
    lines = args.steps // args.steps_per_trajectory
    data = work / "prm800k_like.jsonl"
    total = generate(data, lines, args.steps_per_trajectory)
    print(
        f"generated {total} steps in {lines} lines ({data.stat().st_size / 1e6:.0f} MB) under "
        f"{work}"
    )

    previous = _previous(Path(args.out))
    load_before = os.getloadavg()
    fast_s, fast_cpu = timed_import(work / "bench_novalidate.db", data, total, validate_first=False)
    print(
        f"import (validate_first=False): {total / fast_s:,.0f} steps/s wall, "
        f"{total / fast_cpu:,.0f} steps/s CPU"
    )
    par_s, par_cpu = timed_import(work / "bench_workers2.db", data, total, workers=2)
    print(
        f"import (validates first, workers=2): {total / par_s:,.0f} steps/s wall, "
        f"{total / par_cpu:,.0f} steps/s CPU (incl. worker processes)"
    )

    store = PrmStore(work / "bench.db")
    start, cpu = time.perf_counter(), time.process_time()
    report = import_file(store, data, "prm800k", batch_lines=5000)
    import_s, import_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert report.steps == total, report
    print(
        f"import (default, validates first): {total} steps in {import_s:.1f}s = "
        f"{total / import_s:,.0f} steps/s wall, {total / import_cpu:,.0f} steps/s CPU"
    )

    naive_store = PrmStore(work / "naive.db")
    naive_steps, naive_s = naive_import(naive_store, data, max_lines=max(1, min(lines, 2000)))
    print(f"baseline naive_api import: {naive_steps / naive_s:,.0f} steps/s ({naive_steps} steps)")

    ids = store.trajectory_ids()
    rng = random.Random(1)
    samples = []
    for tid in rng.sample(ids, min(500, len(ids))):
        t0 = time.perf_counter()
        steps = store.steps(tid)
        labels = store.current_labels(tid)
        samples.append(time.perf_counter() - t0)
        assert len(steps) == len(labels) == args.steps_per_trajectory
    samples.sort()
    query = {
        "median_ms": statistics.median(samples) * 1e3,
        "p99_ms": samples[int(len(samples) * 0.99) - 1] * 1e3,
    }
    print(
        f"trajectory query (steps + current labels): median {query['median_ms']:.2f} ms, p99 "
        f"{query['p99_ms']:.2f} ms"
    )

    start, cpu = time.perf_counter(), time.process_time()
    exported = export_trl(store, work / "trl.jsonl")
    export_s, export_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"export TRL: {exported.rows} rows, {exported.steps} steps in {export_s:.1f}s = "
        f"{exported.steps / export_s:,.0f} steps/s"
    )

    start = time.perf_counter()
    naive_export_steps = 0
    for tid in ids[:5000]:
        naive_export_steps += len(store.steps(tid))
        store.current_labels(tid)
    naive_export_s = time.perf_counter() - start
    print(f"baseline naive_api export: {naive_export_steps / naive_export_s:,.0f} steps/s")

    result = {
        "bench": "prm",
        "steps": total,
        "trajectories": lines,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "note": "shared 2-core machine, loaded by other helpers' work during the run; CPU-time "
            "rates (process_time) approximate an unloaded core",
        },
        "import": {
            "seconds": import_s,
            "steps_per_s": total / import_s,
            "target_steps_per_s": 100_000,
            "cpu_seconds": import_cpu,
            "steps_per_cpu_s": total / import_cpu,
            "validate_first_false": {
                "seconds": fast_s,
                "steps_per_s": total / fast_s,
                "steps_per_cpu_s": total / fast_cpu,
            },
            "workers_2": {
                "seconds": par_s,
                "steps_per_s": total / par_s,
                "steps_per_cpu_s": total / par_cpu,
                "note": "validation pass in 2 forked processes; CPU includes them",
            },
            "baseline_naive_api_steps_per_s": naive_steps / naive_s,
            "speedup_vs_baseline": (total / import_s) / (naive_steps / naive_s),
        },
        "query": {**query, "target_ms": 5.0},
        "export_trl": {
            "seconds": export_s,
            "steps_per_s": exported.steps / export_s,
            "target_s": 30.0,
            "cpu_seconds": export_cpu,
            "rows": exported.rows,
            "steps": exported.steps,
            "baseline_naive_api_steps_per_s": naive_export_steps / naive_export_s,
            "speedup_vs_baseline": (exported.steps / export_s)
            / (naive_export_steps / naive_export_s),
        },
        "db_mb": os.path.getsize(work / "bench.db") / 1e6,
        "previous_run": previous,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    for s in (store, naive_store):
        s.close()
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
