"""Run benchmarks in an older checkout and in this one, back to back, and compare their numbers.

A refactor that must not change speed shows it here: each benchmark runs first in ``--before`` (a
checkout of the older commit, e.g. ``git worktree add ../before REV``) and then in this checkout,
on the same machine in the same session, and every rate and duration the two result files share
is listed with its after/before ratio. Rates (``*_per_*_s``, ``speedup*``) are better when
higher, durations (``*_s``, ``*_ms``, ``*_us_per_item``) when lower.

Run: ``.venv/bin/python tests/bench/compare_trees.py --before ../before
bench_grade:grade.json bench_prm:prm.json`` (``SCRIPT:RESULT`` pairs: the script in
``tests/bench/`` and the file it writes in ``tests/bench/results/``). Writes
``tests/bench/results/compare_trees.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIME_SUFFIXES = ("_s", "_ms", "_us_per_item", "seconds")


def is_rate(leaf: str) -> bool:
    """``items_per_s``, ``steps_per_cpu_s``, ``speedup_vs_x``: higher is better."""
    return ("_per_" in leaf and leaf.endswith("_s")) or "speedup" in leaf


def run_bench(tree: Path, script: str, timeout_s: float) -> float:
    """Run ``tests/bench/SCRIPT.py`` in ``tree`` (importing that tree's code); its wall seconds."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, f"tests/bench/{script}.py"],
        cwd=tree,
        env=env,
        check=True,
        timeout=timeout_s,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def leaves(obj: object, path: str = "") -> dict[str, object]:
    """Every value in a result file, by its dotted path (``a.b[2].c``)."""
    found: dict[str, object] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            found.update(leaves(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found.update(leaves(value, f"{path}[{i}]"))
    else:
        found[path] = obj
    return found


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[")[0]


def is_measurement(path: str, value: object) -> bool:
    """A rate or a duration: it varies from run to run."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return is_rate(_leaf(path)) or _leaf(path).endswith(TIME_SUFFIXES)


def numbers(obj: object) -> dict[str, float]:
    """Every rate and duration in a result file, by its dotted path."""
    found = leaves(obj)
    return {path: float(found[path]) for path in found if is_measurement(path, found[path])}


def same_values(before: dict, after: dict) -> dict[str, object]:
    """The other values both files hold (counts, rewards, verdict tallies): how many differ."""
    old, new = leaves(before), leaves(after)
    shared = [p for p in old.keys() & new.keys() if not is_measurement(p, old[p])]
    differ = sorted(p for p in shared if old[p] != new[p])
    return {"shared": len(shared), "differ": len(differ), "differing": differ[:20]}


def compare(before: dict, after: dict) -> dict[str, dict[str, float | str]]:
    """``{path: {before, after, ratio, better}}`` for the numbers both files hold."""
    old, new = numbers(before), numbers(after)
    rows = {}
    for path in sorted(old.keys() & new.keys()):
        if old[path] == 0:
            continue
        higher_is_better = is_rate(_leaf(path))
        ratio = new[path] / old[path]
        better = (ratio >= 1) == higher_is_better or ratio == 1
        rows[path] = {
            "before": old[path],
            "after": new[path],
            "ratio": round(ratio, 3),
            "better": "after" if better else "before",
        }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", metavar="SCRIPT:RESULT")
    parser.add_argument("--before", required=True, type=Path, help="the older checkout")
    parser.add_argument("--out", type=Path, default=ROOT / "tests/bench/results/compare_trees.json")
    parser.add_argument("--timeout-s", type=float, default=1800.0)
    parser.add_argument(
        "--reuse", action="store_true", help="compare the result files both trees hold; run nothing"
    )
    args = parser.parse_args()
    report: dict[str, object] = {
        "before": str(args.before.resolve()),
        "before_commit": _commit(args.before),
        "after_commit": _commit(ROOT),
        "benchmarks": {},
    }
    for pair in args.pairs:
        script, _, result = pair.partition(":")
        entry: dict[str, object] = {}
        results = {}
        for label, tree in (("before", args.before.resolve()), ("after", ROOT)):
            if not args.reuse:
                entry[f"{label}_wall_s"] = round(run_bench(tree, script, args.timeout_s), 1)
            results[label] = json.loads((tree / "tests/bench/results" / result).read_text())
        entry["numbers"] = compare(results["before"], results["after"])
        entry["values"] = same_values(results["before"], results["after"])
        report["benchmarks"][script] = entry
        values = entry["values"]
        print(
            f"{script}: {_summary(entry['numbers'])}; other values: {values['differ']} of ", end=""
        )
        print(f"{values['shared']} differ {values['differing'][:3]}")
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _summary(rows: dict) -> str:
    ratios = sorted(r["ratio"] for r in rows.values())
    worse = sum(r["better"] == "before" for r in rows.values())
    if not ratios:
        return "no shared numbers"
    return f"{len(ratios)} numbers, {worse} worse after, ratios {ratios[0]}..{ratios[-1]}"


def _commit(tree: Path) -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True)
    return proc.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
