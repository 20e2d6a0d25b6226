"""Sandbox throughput on the 120 Python function tasks of ``datasets/code/python_tasks.jsonl``.

One execution = run ``python3 main.py`` where ``main.py`` is a task's reference solution followed by
its assert tests (exit code 0 expected). Measured in one run, sequentially (one execution at a
time):

  (a) the Docker backend with its warm pool (``sandbox.docker.backend.DockerSandbox``);
  (b) a naive ``docker run --rm`` per execution with the same hardening flags (baseline);
  (c) the local backend (``sandbox.local.LocalSandbox``);
  (d) unsandboxed ``subprocess.run`` of the same program (baseline);

plus, for context, ``code@1`` end to end (harness, per-case child, signed result) on (a) and (c).
Targets: (a) >= 30x (b) in executions/s, and (a) within 2x of (d).

    .venv/bin/python tests/bench/bench_sandbox.py [--naive-n 40] [--out
    tests/bench/results/sandbox.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sandbox.base import Limits  # noqa: E402
from sandbox.local import LocalSandbox  # noqa: E402

TASKS = ROOT / "datasets" / "code" / "python_tasks.jsonl"
LIMITS = Limits(wall_s=20, memory_mb=512)
SENTINEL = "RLVR-BENCH-OK"
"""Printed after the asserts: an execution counts as a success only with exit 0 and this line."""


def load_programs() -> list[tuple[dict, str]]:
    tasks = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]
    return [
        (t, t["solution"] + "\n" + t["reference"]["tests"] + f"print({SENTINEL!r})\n")
        for t in tasks
    ]


def measure(name: str, programs: list[str], run_one) -> dict:
    """Run every program once through ``run_one`` (returns True on success); latency stats."""
    latencies, failures = [], 0
    start = time.perf_counter()
    for program in programs:
        t0 = time.perf_counter()
        ok = run_one(program)
        latencies.append(time.perf_counter() - t0)
        failures += not ok
    total = time.perf_counter() - start
    latencies.sort()
    result = {
        "name": name,
        "n": len(programs),
        "failures": failures,
        "total_s": round(total, 3),
        "exec_per_s": round(len(programs) / total, 2),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
    }
    print(
        f"  {name:<44} {result['exec_per_s']:>8.2f}/s  p50 {result['p50_ms']:>8.1f} ms  p99 "
        f"{result['p99_ms']:>8.1f} ms  failures {failures}",
        flush=True,
    )
    return result


def unsandboxed(program: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "main.py").write_text(program)
        proc = subprocess.run(
            ["/usr/bin/python3", "main.py"], cwd=tmp, capture_output=True, timeout=60
        )
    return proc.returncode == 0 and SENTINEL.encode() in proc.stdout


def via_sandbox(box):
    def run(program: str) -> bool:
        result = box.run(["python3", "main.py"], files={"main.py": program}, limits=LIMITS)
        return result.exit_code == 0 and SENTINEL.encode() in result.stdout

    return run


def naive_docker_command(image: str, limits: Limits) -> list[str]:
    """``docker run --rm`` with the hardening flags of the warm pool's containers."""
    tmpfs = f"rw,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777"
    memory = f"{limits.memory_mb + 64}m"
    return [
        "docker",
        "run",
        "--rm",
        "-i",
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        f"/workspace:{tmpfs},exec",
        "--tmpfs",
        f"/tmp:{tmpfs}",
        "--ipc",
        "private",
        "--memory",
        memory,
        "--memory-swap",
        memory,
        "--cpus",
        str(limits.cpus),
        "--pids-limit",
        str(limits.pids + 1),
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--ulimit",
        f"fsize={limits.file_size_mb * 1024 * 1024}",
        "--ulimit",
        f"nofile={limits.open_files + 16}",
        "--ulimit",
        "core=0",
        "--user",
        "65534:65534",
        "--log-driver",
        "none",
        "-w",
        "/workspace",
        image,
    ]


def naive_docker(image: str):
    prefix = naive_docker_command(image, LIMITS)

    def run(program: str) -> bool:
        proc = subprocess.run(
            [*prefix, "python3", "-"], input=program.encode(), capture_output=True, timeout=120
        )
        return proc.returncode == 0 and SENTINEL.encode() in proc.stdout

    return run


def code_verifier(box, tasks: list[dict]):
    from verifiers.code import CodeConfig, CodeVerifier

    verifier = CodeVerifier(CodeConfig(), sandbox=box)
    by_program = {
        t["solution"] + "\n" + t["reference"]["tests"] + f"print({SENTINEL!r})\n": t for t in tasks
    }

    def run(program: str) -> bool:
        task = by_program[program]
        return verifier.verify(task["solution"], task["reference"]).passed

    return run


def open_docker():
    try:
        from sandbox.docker.backend import DockerSandbox

        box = DockerSandbox(pool_size=1)
        box.warm(1, LIMITS)
        return box, None
    except Exception as exc:  # engine or image missing: reported, not hidden
        return None, f"{type(exc).__name__}: {exc}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--naive-n", type=int, default=40, help="executions for the slow docker-run baseline"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "bench" / "results" / "sandbox.json"
    )
    args = parser.parse_args()
    pairs = load_programs()
    tasks = [t for t, _ in pairs]
    programs = [p for _, p in pairs]
    print(
        f"{len(programs)} programs; host {platform.node()} with {os.cpu_count()} CPUs (shared with "
        "other jobs)"
    )
    results = {"d_unsandboxed": measure("(d) unsandboxed subprocess.run", programs, unsandboxed)}
    local = LocalSandbox()
    results["c_local"] = measure("(c) local backend", programs, via_sandbox(local))
    docker, problem = open_docker()
    if docker is not None:
        via_sandbox(docker)(programs[0])  # first run of this spec outside the timing
        results["a_docker_warm_pool"] = measure(
            "(a) docker backend, warm pool", programs, via_sandbox(docker)
        )
        if shutil.which("docker"):
            results["b_docker_run_rm"] = measure(
                "(b) naive docker run --rm", programs[: args.naive_n], naive_docker(docker.image)
            )
        results["code@1_docker"] = measure(
            "code@1 verdicts, docker backend", programs, code_verifier(docker, tasks)
        )
    else:
        print(f"  docker backend unavailable: {problem}")
    results["code@1_local"] = measure(
        "code@1 verdicts, local backend", programs, code_verifier(local, tasks)
    )
    if docker is not None:
        docker.close()
    report = summarise(results, problem)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["ratios"], indent=2))
    print(f"wrote {args.out}")
    return 0


def summarise(results: dict, problem: str | None) -> dict:
    ratios = {}
    a, b, d = (
        results.get("a_docker_warm_pool"),
        results.get("b_docker_run_rm"),
        results["d_unsandboxed"],
    )
    if a and b:
        ratios["a_over_b_exec_per_s"] = round(a["exec_per_s"] / b["exec_per_s"], 1)
        ratios["target_a_at_least_30x_b"] = ratios["a_over_b_exec_per_s"] >= 30
    if a:
        ratios["d_over_a_exec_per_s"] = round(d["exec_per_s"] / a["exec_per_s"], 2)
        ratios["target_a_within_2x_of_d"] = ratios["d_over_a_exec_per_s"] <= 2
    ratios["d_over_c_exec_per_s"] = round(d["exec_per_s"] / results["c_local"]["exec_per_s"], 2)
    return {
        "benchmark": "bench_sandbox",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "note": "shared 2-core machine, other jobs running; sequential executions",
        },
        "docker_problem": problem,
        "results": results,
        "ratios": ratios,
    }


if __name__ == "__main__":
    sys.exit(main())
