"""Benchmark of the PRM store on PostgreSQL next to SQLite, in one run, on the same generated data.

Run as a script (not collected by pytest):

    .venv/bin/python tests/bench/bench_prm_postgres.py [--steps 1000000] [--out
    tests/bench/results/prm_postgres.json]

It starts its own throwaway PostgreSQL server (as ``tests/rl/prm/conftest.py`` does: initdb + pg_ctl
on a Unix socket, as the ``postgres`` user when run as root; durable settings: fsync on), or uses
``--pg-url``. Per backend: one import of the PRM800K-style file ``bench_prm.py`` generates
(default settings: validate first, batches of 5000 lines), then trajectory queries on random
trajectories - trajectories of a problem, first wrong step, current labels - as latency
percentiles. The baseline is SQLite, measured in the same run; ratios are PostgreSQL / SQLite.
Client CPU is this process's; the PostgreSQL backend serving the import is measured from /proc
(the server's background writers, WAL writer and checkpointer are not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests/bench"), str(ROOT / "tests/rl/prm")]

from bench_prm import generate  # noqa: E402
from conftest import PgServer, _pg_bin  # noqa: E402

from rl.prm.importers import import_file  # noqa: E402
from rl.prm.store import PrmStore  # noqa: E402


def backend_cpu_s(store: PrmStore) -> float | None:
    """CPU seconds used so far by the PostgreSQL backend process serving ``store`` (None: SQLite,
    or its /proc entry is not readable)."""
    if store.backend != "postgresql":
        return None
    pid = store.read("SELECT pg_backend_pid()")[0][0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def timed_import(target: str, data: Path, total: int) -> dict:
    store = PrmStore(target)
    server_before = backend_cpu_s(store)
    before, start = os.times(), time.perf_counter()
    report = import_file(store, data, "prm800k", batch_lines=5000)
    wall, after = time.perf_counter() - start, os.times()
    server_after = backend_cpu_s(store)
    assert report.steps == total, report
    store.close()
    cpu = sum(after[i] - before[i] for i in range(4))
    out = {
        "seconds": round(wall, 2),
        "client_cpu_seconds": round(cpu, 2),
        "steps_per_s": round(total / wall),
        "steps_per_client_cpu_s": round(total / cpu),
    }
    if server_before is not None and server_after is not None:
        out["server_backend_cpu_seconds"] = round(server_after - server_before, 2)
        out["steps_per_client_and_server_cpu_s"] = round(
            total / (cpu + server_after - server_before)
        )
    return out


def latencies(fn, args) -> dict:
    times = []
    for arg in args:
        start = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
        "n": len(times),
    }


def queries(target: str, samples: int, seed: int = 1) -> dict:
    store = PrmStore(target)
    rng = random.Random(seed)
    top = store.read("SELECT max(id) FROM trajectories")[0][0]
    ids = [rng.randint(1, top) for _ in range(samples)]
    problems = [
        store.read("SELECT problem_id FROM trajectories WHERE id = ?", (t,))[0][0] for t in ids
    ]
    by_problem = "SELECT id, hash, generator FROM trajectories WHERE problem_id = ? ORDER BY id"
    out = {
        "trajectories_of_problem": latencies(lambda p: store.read(by_problem, (p,)), problems),
        "first_wrong_step": latencies(store.first_wrong_step, ids),
        "current_labels": latencies(store.current_labels, ids),
        "steps_and_current_labels": latencies(
            lambda t: (store.steps(t), store.current_labels(t)), ids
        ),
    }
    store.close()
    return out


def pg_size(url: str) -> int:
    store = PrmStore(url)
    size = store.read(
        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    )[0][0]
    store.close()
    return int(size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--steps-per-trajectory", type=int, default=10)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument(
        "--pg-url", help="an existing database to use (its tables must not exist yet)"
    )
    parser.add_argument("--out", default=str(ROOT / "tests/bench/results/prm_postgres.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_prm_pg_"))
    lines = args.steps // args.steps_per_trajectory
    data = work / "prm800k_like.jsonl"
    total = generate(data, lines, args.steps_per_trajectory)
    print(f"generated {total} steps in {lines} lines ({data.stat().st_size / 1e6:.0f} MB)")
    server = None
    if args.pg_url:
        url = args.pg_url
    else:
        pg_dir = Path(tempfile.mkdtemp(prefix="bench_prm_pg_server_"))  # owned by the server's user
        server = PgServer(pg_dir, _pg_bin(), 40000 + os.getpid() % 20000)
        server.start(settings="-c shared_buffers=256MB -c max_wal_size=4GB")
        url = server.new_schema()
    try:
        load = os.getloadavg()
        results = {"sqlite": {}, "postgresql": {}}
        for name, target in (("sqlite", str(work / "bench.db")), ("postgresql", url)):
            results[name]["import"] = timed_import(target, data, total)
            print(name, "import", results[name]["import"], flush=True)
            results[name]["queries"] = queries(target, args.queries)
            print(name, "queries", results[name]["queries"], flush=True)
        results["sqlite"]["database_bytes"] = os.path.getsize(work / "bench.db")
        results["postgresql"]["database_bytes"] = pg_size(url)
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(pg_dir, ignore_errors=True)
    sq, pg = results["sqlite"], results["postgresql"]
    ratios = {
        "import_seconds": round(pg["import"]["seconds"] / sq["import"]["seconds"], 2),
        **{
            f"{q}_median": round(pg["queries"][q]["median_ms"] / sq["queries"][q]["median_ms"], 2)
            for q in sq["queries"]
        },
    }
    print("PostgreSQL / SQLite (baseline, same run):", ratios)
    result = {
        "steps": total,
        "lines": lines,
        "file_mb": round(data.stat().st_size / 1e6),
        "baseline": "sqlite",
        **results,
        "postgresql_over_sqlite": ratios,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_before": load,
            "loadavg_after": os.getloadavg(),
            "note": "shared build machine; other work running",
        },
        "postgresql_server": "throwaway local server over a Unix socket, fsync on, "
        "shared_buffers=256MB"
        if server
        else "--pg-url",
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
