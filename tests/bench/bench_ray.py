"""Batch grading on a 2-node Ray cluster against the local process pool, on the same batch.

Run: ``.venv/bin/python tests/bench/bench_ray.py [--math 2000] [--code 200] [--rounds 2]``. Writes
``tests/bench/results/ray.json``. The baseline, measured in the same run on the same items:

* ``local`` - :class:`~verifiers.executor.ProcessPoolExecutor` with 2 workers in this process,
  measured before Ray starts (and again as ``local_beside_idle_cluster`` while the idle cluster
  runs, which shows the CPU the cluster's own processes take from a 2-core machine);
* ``ray`` - :class:`~verifiers.ray_executor.RayExecutor` over a cluster this script starts on this
  machine: a head and a second node (``ray start``), 1 CPU and 1 grading process each.

Batches: ``math@2`` items from the seeded GRPO-like workload (``math_workload.py``, no hostile
items) and ``code@2`` items (8 responses per task, half wrong) on the local sandbox on every node.
Reported per batch: items/s for each (best round), the ratio ray / local, and the per-item
overhead (ray wall time per item minus local wall time per item). Both executors are warm (workers
and actors started, imports done) before a timed round, and every round grades fresh items (its own
seed), so no worker's answer cache has seen them. Verdicts are checked identical (but for
``elapsed_s``) between the two.

Both nodes share this machine's CPUs with the driver, Ray's own processes (GCS, raylets, object
stores) and the local baseline, so the cluster cannot be faster than the local pool here: the
numbers measure Ray's overhead, not its scaling. On real machines each node brings its own CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from math_workload import generate  # noqa: E402

from verifiers import GradeItem, grade_batch  # noqa: E402
from verifiers.executor import ProcessPoolExecutor  # noqa: E402
from verifiers.ray_executor import RayExecutor  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "ray.json"
RAY = str(Path(sys.executable).with_name("ray"))
SEED = 1234
TIMEOUT_S = 30.0
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0", "RAY_AUTH_MODE": "disabled"}
NODE = [
    "--num-cpus",
    "1",
    "--object-store-memory",
    str(80 * 1024 * 1024),
    "--disable-usage-stats",
    "--node-ip-address",
    "127.0.0.1",
]


def math_items(count: int, seed: int) -> list[GradeItem]:
    return [
        GradeItem(row["response"], row["reference"], "math@2", i)
        for i, row in enumerate(generate(count, seed=seed, hostile_fraction=0.0))
    ]


def code_items(count: int, seed: int) -> list[GradeItem]:
    rng = random.Random(seed)
    items = []
    for task in range(max(1, count // 8)):
        k, n = rng.randint(2, 9), rng.randint(10, 10**6)  # n: every task's tests are new text
        reference = {
            "tests": f"for x in range({n}, {n} + 20):\n    assert f(x) == {k} * x",
            "entry_point": "f",
        }
        for j in range(8):
            body = f"return {k} * x" if j % 2 == 0 else f"return {k} + x"
            items.append(
                GradeItem(f"```python\ndef f(x):\n    {body}\n```", reference, "code@2", (task, j))
            )
    return items[:count]


def start_cluster(temp: Path) -> str:
    port = _free_port()
    env = {**os.environ, **RAY_ENV}
    _ray(
        [
            "start",
            "--head",
            "--port",
            str(port),
            "--temp-dir",
            str(temp),
            "--include-dashboard=false",
            "--resources",
            '{"head": 1}',
            *NODE,
        ],
        env,
    )
    _ray(["start", "--address", f"127.0.0.1:{port}", "--resources", '{"worker_b": 1}', *NODE], env)
    return f"127.0.0.1:{port}"


def _ray(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"ray {' '.join(args)} failed:\n{done.stderr}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rounds(
    batches: list[list[GradeItem]], executors: dict
) -> dict[str, tuple[list[float], list[list]]]:
    """``batches[0]`` warms every executor up (imports, sandbox, actors); each later batch is one
    timed round of fresh items (no worker's answer cache has seen them), graded by each executor in
    turn (interleaved, so load from elsewhere on the machine hits all alike). Seconds and verdicts
    per round, per executor."""
    out: dict[str, tuple[list[float], list[list]]] = {label: ([], []) for label in executors}
    for executor in executors.values():
        grade_batch(batches[0], executor=executor)
    for items in batches[1:]:
        for label, executor in executors.items():
            start = time.perf_counter()
            verdicts = grade_batch(items, executor=executor)
            out[label][0].append(time.perf_counter() - start)
            out[label][1].append(verdicts)
    return out


def summarise(name: str, items: int, runs: dict[str, tuple[list[float], list[list]]]) -> dict:
    """Items/s per executor (best round), and Ray against each local baseline."""
    out: dict = {"items": items}
    for label, (seconds, verdicts) in runs.items():
        graded = [v.elapsed_s for batch in verdicts for v in batch]
        out[label] = {
            "seconds": [round(s, 3) for s in seconds],
            "items_per_s": round(items / min(seconds), 1),
            # the verifier's own time per item, in its worker: tells grading from plumbing
            "mean_verdict_elapsed_ms": round(sum(graded) / max(1, len(graded)) * 1000, 3),
        }
    ray_s = min(runs["ray"][0])
    for base in ("local", "local_beside_idle_cluster"):
        base_s = min(runs[base][0])
        out[f"ratio_ray_over_{base}"] = round(base_s / ray_s, 3)
        out[f"overhead_ms_per_item_vs_{base}"] = round((ray_s - base_s) / items * 1000, 3)
    reference = runs["local"][1]
    out["verdict_mismatches_vs_local"] = sum(
        a.identity() != b.identity()
        for label in ("ray", "local_beside_idle_cluster")
        for batch_a, batch_b in zip(reference, runs[label][1])
        for a, b in zip(batch_a, batch_b)
    )
    print(
        f"{name:<6} {items:>5} items   local {out['local']['items_per_s']:>8.1f}/s   "
        f"local beside idle cluster {out['local_beside_idle_cluster']['items_per_s']:>8.1f}/s   "
        f"ray {out['ray']['items_per_s']:>8.1f}/s   ratio ray/local "
        f"{out['ratio_ray_over_local']:.3f}   overhead {out['overhead_ms_per_item_vs_local']:+.3f} "
        f"ms/item   mismatches {out['verdict_mismatches_vs_local']}",
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--math", type=int, default=2000)
    parser.add_argument("--code", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["RLVR_SANDBOX"] = "local"
    os.environ.update(RAY_ENV)
    temp = Path(f"/tmp/rlvr-ray-bench-{os.getpid()}")
    seeds = range(SEED, SEED + args.rounds + 1)
    batches = {
        "math@2": [math_items(args.math, s) for s in seeds],
        "code@2": [code_items(args.code, s) for s in seeds],
    }
    runs: dict[str, dict] = {name: {} for name in batches}
    results = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "one shared 2-core VM: both Ray nodes, Ray's own "
            "processes, the driver and the baseline share its CPUs (other jobs ran beside it)",
        },
        "baseline": "local = ProcessPoolExecutor(2 workers) in this process, measured before Ray "
        "starts; local_beside_idle_cluster = the same while the (idle) cluster runs",
        "cluster": "head + 1 node via `ray start` on this machine, 1 CPU and workers_per_node=1 "
        "each; sandbox=local on every node",
        "seed": SEED,
        "rounds": args.rounds,
    }
    with ProcessPoolExecutor(2, timeout_s=TIMEOUT_S) as local:
        for name, batch in batches.items():
            runs[name].update(rounds(batch, {"local": local}))
    try:
        address = start_cluster(temp)
        start = time.perf_counter()
        with RayExecutor(
            address=address, workers_per_node=1, timeout_s=TIMEOUT_S, sandbox="local"
        ) as cluster:
            results["ray_connect_s"] = round(time.perf_counter() - start, 3)
            with ProcessPoolExecutor(2, timeout_s=TIMEOUT_S) as local:
                for name, batch in batches.items():
                    runs[name].update(
                        rounds(batch, {"ray": cluster, "local_beside_idle_cluster": local})
                    )
            results["ray_nodes"] = len(cluster.nodes())
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
    for name, batch in batches.items():
        results[name] = summarise(name, len(batch[1]), runs[name])
    import ray

    results["ray_version"] = ray.__version__
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
