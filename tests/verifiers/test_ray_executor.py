"""RayExecutor on a real two-node Ray cluster started (and stopped) by this module.

The head node and a second node run as separate ``ray start`` processes on this machine, each with
one CPU and its own custom resource. The batch goes through both; the second node's raylet is
SIGKILLed in the middle of a batch, and one node's actor is stopped (SIGSTOP) to stand for a hung
node. The mixed batch pins the local sandbox on every node (``sandbox="local"``, as ``rlvr grade
--sandbox local`` does); one test grades code in Docker on both nodes, skipped with the reason
printed where no engine answers (failed in CI, where Docker must run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import verifiers
from verifiers import GradeItem, Outcome, grade_batch
from verifiers.base import BaseVerifier
from verifiers.errors import MissingDependencyError

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'rlvr[ray]')")
from verifiers.ray_executor import RayExecutor  # noqa: E402

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
#: Small and quick: no dashboard, tiny object stores, node death noticed within ~2 s.
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_DEDUP_LOGS": "0",
    # a private cluster on 127.0.0.1: no token auth (a token file left in ~/.ray by an earlier
    # local `ray.init()` would otherwise turn it on for the head only)
    "RAY_AUTH_MODE": "disabled",
}
OBJECT_STORE = str(80 * 1024 * 1024)
OBJ = {"schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}
SQUARE = {"tests": "assert f(2) == 4\nassert f(3) == 9", "entry_point": "f"}
NO_CALL = {
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
    "expected_calls": [],
}
CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'


class SleepyVerifier(BaseVerifier):
    """Test verifier: sleeps for ``reference["sleep"]`` seconds, then passes. Versions: 1 -
    first."""

    name = "test_sleepy"
    version = 1
    description = "test-only verifier that takes its time"

    def check(self, response, reference):
        # SIGKILL the Ray actor whose process pool runs this item
        if response == "KILL_MY_NODE_WORKER":
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(60)
        time.sleep(float(reference.get("sleep", 0)))
        return Outcome.passed(answer=response)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ray {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


_NODE_B: list[str] = []  # the `ray start` arguments of the second node, to start it again
_NODE_ENV: dict[str, str] = {}


@pytest.fixture
def two_nodes(cluster):
    """The cluster with its second node alive (a test before may have killed it)."""
    if not ray.is_initialized():
        ray.init(address=cluster, logging_level="warning", log_to_driver=False)
    if not any(n["Alive"] and "worker_b" in n["Resources"] for n in ray.nodes()):
        _ray(*_NODE_B, env=_NODE_ENV)
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head (1 CPU, resource ``head``) and a second node (1 CPU, ``worker_b``); yields the
    address."""
    temp = Path(f"/tmp/rlvr-ray-{os.getpid()}")  # unix socket paths must stay short
    port = _free_port()
    # the nodes import SleepyVerifier from this module, as they would a user's installed plugin
    env = {
        **os.environ,
        **RAY_ENV,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
    }
    saved = {k: os.environ.get(k) for k in RAY_ENV}
    os.environ.update(RAY_ENV)  # the driver (this process) reads them too
    common = ["--num-cpus", "1", "--object-store-memory", OBJECT_STORE, "--disable-usage-stats"]
    try:
        _ray(
            "start",
            "--head",
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--temp-dir",
            str(temp),
            "--include-dashboard=false",
            "--resources",
            '{"head": 1}',
            *common,
            env=env,
        )
        _NODE_B[:] = [
            "start",
            "--address",
            f"127.0.0.1:{port}",
            "--node-ip-address",
            "127.0.0.1",
            "--resources",
            '{"worker_b": 1}',
            *common,
        ]
        _NODE_ENV.update(env)
        _ray(*_NODE_B, env=env)
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def executor(cluster):
    ex = RayExecutor(address=cluster, workers_per_node=1, timeout_s=20, sandbox="local")
    yield ex
    ex.close()


def _mixed() -> list[GradeItem]:
    return [
        GradeItem("The answer is \\boxed{4}", {"answer": "4"}, "math@2", "m-pass"),
        GradeItem("\\boxed{5}", {"answer": "4"}, "math@2", "m-fail"),
        GradeItem("\\boxed{\\frac{1}{2}}", {"answer": "0.5"}, "math@2", "m-frac"),
        GradeItem('{"n": 1}', OBJ, "json_schema@2", "j-pass"),
        GradeItem('{"n": "x"}', OBJ, "json_schema@2", "j-fail"),
        GradeItem("not json", OBJ, "json_schema@2", "j-unparseable"),
        GradeItem("I will not call a tool.", NO_CALL, "tool_call@2", "t-pass"),
        GradeItem(CALL, NO_CALL, "tool_call@2", "t-fail"),
        GradeItem("```python\ndef f(x):\n    return x * x\n```", SQUARE, "code@2", "c-pass"),
        GradeItem("```python\ndef f(x):\n    return x + x\n```", SQUARE, "code@2", "c-fail"),
        GradeItem("x", {"schema": {}}, "no_such_verifier@1", "unknown"),
        "not an item",
        GradeItem('{"n": 2}', {"nope": 1}, "json_schema@2", "bad-ref"),
    ]


def _identities(verdicts) -> list[dict]:
    return [v.identity() for v in verdicts]


def test_mixed_batch_on_the_cluster_equals_local_grading(executor, monkeypatch):
    items = _mixed() * 3
    on_cluster = grade_batch(items, executor=executor)
    monkeypatch.setenv("RLVR_SANDBOX", "local")
    local = grade_batch(items, workers=2, timeout_s=20)
    assert len(on_cluster) == len(items)
    assert _identities(on_cluster) == _identities(local)
    statuses = [v.status.value for v in on_cluster[:13]]
    assert statuses == [
        "pass",
        "fail",
        "pass",
        "pass",
        "fail",
        "unparseable",
        "pass",
        "fail",
        "pass",
        "fail",
        "error",
        "error",
        "error",
    ]
    assert len(executor.nodes()) == 2, "both nodes should hold a grading actor"


def test_order_and_count_kept_with_many_items_and_bad_ones(executor):
    items = []
    for i in range(300):
        items.append(GradeItem(f'{{"n": {i}}}' if i % 7 else "{", OBJ, "json_schema@1", i))
        if i % 50 == 0:
            items.append(GradeItem("x", {}, "nope@1", f"bad{i}"))
    verdicts = grade_batch(items, executor=executor)
    assert len(verdicts) == len(items)
    for item, verdict in zip(items, verdicts):
        if item.verifier == "nope@1":
            assert verdict.failure_reason.code == "unknown_verifier"
        else:
            assert verdict.status.value == ("pass" if item.id % 7 else "unparseable"), item


def _refuse_to_load():
    raise RuntimeError("this object cannot be rebuilt here")


class Unloadable:
    """Pickles fine on the driver; unpickling it (on a node) raises."""

    def __reduce__(self):
        return _refuse_to_load, ()


def test_an_item_a_node_cannot_read_costs_one_verdict_not_the_batch_or_the_node(executor):
    items = [GradeItem(f'{{"n": {i}}}', OBJ, "json_schema@1", i) for i in range(40)]
    items[3] = GradeItem('{"n": 3}', {**OBJ, "x": Unloadable()}, "json_schema@1", 3)
    before = len(executor.stats["nodes_lost"])
    verdicts = grade_batch(items, executor=executor)
    assert [v.status.value for v in verdicts] == ["pass"] * 3 + ["error"] + ["pass"] * 36
    assert verdicts[3].failure_reason.code == "unsendable_item"
    assert len(executor.stats["nodes_lost"]) == before and len(executor.nodes()) == 2


def test_a_batch_abandoned_midway_leaves_the_executor_usable(executor):
    from verifiers import grade_iter

    items = [GradeItem(f'{{"n": {i}}}', OBJ, "json_schema@1", i) for i in range(200)]
    stream = grade_iter(items, executor=executor)
    assert [next(stream).status.value for _ in range(3)] == ["pass"] * 3
    stream.close()  # actors still holding chunks are dropped, and made again for the next batch
    assert [v.status.value for v in grade_batch(items[:20], executor=executor)] == ["pass"] * 20


def test_hanging_item_becomes_a_timeout_within_the_bound(cluster):
    with RayExecutor(address=cluster, workers_per_node=1, timeout_s=2) as ex:
        items = [
            GradeItem("x", {"sleep": 3600}, SleepyVerifier(), "hang"),
            GradeItem("y", {"sleep": 0}, SleepyVerifier(), "quick"),
            GradeItem('{"n": 1}', OBJ, "json_schema@1", "json"),
        ]
        start = time.monotonic()
        hang, quick, json_ = grade_batch(items, executor=ex)
        took = time.monotonic() - start
    assert hang.status.value == "timeout" and hang.details.get("killed_after_s") == 2, (
        hang.failure_reason
    )
    assert (quick.status.value, json_.status.value) == ("pass", "pass")
    assert took < 30  # the bound (2 s) plus actor start-up, never the hour the item asked for


def _kill_raylet_of(resource: str) -> int:
    """SIGKILL the raylet of the node that has ``resource``; returns its pid."""
    import psutil

    node = next(n for n in ray.nodes() if n["Alive"] and resource in n["Resources"])
    flag = f"--node_id={node['NodeID']}"
    for proc in psutil.process_iter(["name", "cmdline"]):
        if "raylet" in (proc.info["name"] or "") and flag in (proc.info["cmdline"] or []):
            proc.send_signal(signal.SIGKILL)
            return proc.pid
    raise AssertionError(f"no raylet found for the node with {resource}")


def test_node_killed_mid_batch_every_item_still_gets_a_verdict(two_nodes):
    cluster = two_nodes
    items = [GradeItem(f"r{i}", {"sleep": 0.05}, SleepyVerifier(), i) for i in range(120)]
    items += [GradeItem("\\boxed{4}", {"answer": "4"}, "math@2", f"m{i}") for i in range(20)]
    killed: list[int] = []
    progress: list[int] = []

    def kill_when_busy():
        while len(progress) < 20:
            time.sleep(0.01)
        killed.append(_kill_raylet_of("worker_b"))

    with RayExecutor(address=cluster, workers_per_node=1, timeout_s=10) as ex:
        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        verdicts = grade_batch(items, executor=ex, progress=progress.append)
        killer.join(timeout=10)
        stats = ex.stats
    assert killed, "the second node was not killed"
    assert len(verdicts) == len(items) == len(progress)
    statuses = {v.status.value for v in verdicts}
    assert "fail" not in statuses
    infra = [v for v in verdicts if v.status.value == "error"]
    assert all(v.failure_reason.code == "infrastructure_failure" for v in infra)
    # one node survives, so every item the dead node held is retried there and graded normally
    assert statuses == {"pass"}, [v.failure_reason for v in infra][:3]
    assert stats["retried"] > 0 and stats["infrastructure_failures"] == 0
    assert len(stats["nodes_lost"]) == 1, stats


def test_an_item_whose_node_dies_twice_is_an_infrastructure_error_never_a_fail(two_nodes):
    cluster = two_nodes
    with RayExecutor(address=cluster, workers_per_node=1, timeout_s=10) as ex:
        (verdict,) = grade_batch(
            [GradeItem("KILL_MY_NODE_WORKER", {}, SleepyVerifier(), "poison")], executor=ex
        )
        assert (
            verdict.status.value == "error"
            and verdict.failure_reason.code == "infrastructure_failure"
        )
        assert (
            "nodes tried" in verdict.failure_reason.message
            and "Error" in verdict.failure_reason.message
        )
        assert verdict.spec == "test_sleepy@1"
        assert ex.stats["retried"] == 1 and len(ex.stats["nodes_lost"]) == 2
        # new actors
        after = grade_batch([GradeItem("y", {}, SleepyVerifier(), "next")], executor=ex)
    assert after[0].status.value == "pass"


def test_a_node_that_stops_answering_is_given_up_and_its_items_retried(two_nodes, monkeypatch):
    import verifiers.ray_executor as module

    monkeypatch.setattr(module, "STALL_GRACE_S", 1.0)
    monkeypatch.setattr(module, "CHUNK_PER_WORKER", 1)
    items = [GradeItem(f"r{i}", {"sleep": 0.01}, SleepyVerifier(), i) for i in range(12)]
    with RayExecutor(address=two_nodes, workers_per_node=1, timeout_s=1) as ex:
        grade_batch(items[:2], executor=ex)  # actors up
        stopped = ray.get(ex._actors[-1].handle.pid.remote())
        os.kill(stopped, signal.SIGSTOP)  # alive but silent: a hung node
        try:
            start = time.monotonic()
            verdicts = grade_batch(items, executor=ex)
            took = time.monotonic() - start
            stats = ex.stats
        finally:
            try:
                os.kill(stopped, signal.SIGCONT)
            except ProcessLookupError:  # already killed as hung
                pass
    assert [v.status.value for v in verdicts] == ["pass"] * 12
    assert len(stats["nodes_lost"]) == 1 and "no answer within" in stats["nodes_lost"][0]
    assert stats["retried"] >= 1 and took < 20


def _docker_or_skip():
    """A Docker client when an engine answers and the runner image works; else skip (fail in CI)."""
    try:
        from sandbox import Limits, open_sandbox

        box = open_sandbox("docker")
        try:
            assert (
                box.run(["python3", "-c", "print(1)"], limits=Limits(wall_s=30)).stdout.strip()
                == b"1"
            )
        finally:
            box.close()
        import docker

        return docker.from_env()
    except Exception as exc:  # engine down, image missing
        reason = f"docker backend unavailable: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: Docker tests must run in CI)")
        print(f"SKIP {reason}")
        pytest.skip(reason)


def test_code_on_docker_nodes_grades_in_a_warm_pool_made_on_each_node(two_nodes, monkeypatch):
    import psutil

    from sandbox.docker.pool import (
        OWNER_LABEL,
        container_labels,
        container_state,
        sandbox_containers,
    )

    client = _docker_or_skip()
    items = [
        GradeItem(f"```python\ndef f(x):\n    return x {op} x\n```", SQUARE, "code@2", i)
        for i, op in enumerate(["*", "+"] * 6)
    ]
    with RayExecutor(address=two_nodes, workers_per_node=1, timeout_s=60, sandbox="docker") as ex:
        on_cluster = grade_batch(items, executor=ex)
        actors = set()  # the Ray actor processes whose pool workers own sandbox containers now
        for container in sandbox_containers(client):
            if container_state(container) != "running":
                continue
            pid = int(container_labels(container).get(OWNER_LABEL, "?:0:?").split(":")[1])
            try:
                parent = psutil.Process(pid).parent()
                if parent is not None and "NodeGrader" in " ".join(parent.cmdline()):
                    actors.add(parent.pid)
            except psutil.Error:
                pass
    monkeypatch.setenv("RLVR_SANDBOX", "docker")
    local = grade_batch(items, workers=2, timeout_s=60)
    assert _identities(on_cluster) == _identities(local)
    assert [v.status.value for v in on_cluster] == ["pass", "fail"] * 6
    assert {v.details.get("backend") for v in on_cluster} == {"docker"}
    assert len(actors) == 2, "each node's grading worker should have made its own warm pool"


def test_cli_grades_through_the_cluster(cluster, tmp_path, monkeypatch):
    from rl.cli import main

    # restored afterwards: --sandbox sets it for the process
    monkeypatch.setenv("RLVR_SANDBOX", "auto")

    lines = [
        json.dumps(
            {
                "id": i,
                "verifier": "json_schema@1",
                "response": '{"n": 1}' if i % 2 else "{",
                "reference": OBJ,
            }
        )
        for i in range(20)
    ]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(lines) + "\n")
    code = main(
        [
            "grade",
            str(src),
            "-o",
            str(out),
            "--executor",
            "ray",
            "--address",
            cluster,
            "--workers",
            "1",
            "--no-progress",
            "--sandbox",
            "local",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(20))
    assert [r["verdict"]["status"] for r in rows] == ["unparseable", "pass"] * 10


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'rlvr\[ray\]'"):
        RayExecutor()


def test_importing_verifiers_does_not_import_ray():
    code = (
        "import sys, verifiers; assert 'ray' not in sys.modules; "
        "print(verifiers.RayExecutor.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "RayExecutor"
    assert "RayExecutor" in verifiers.__all__


def test_cli_refuses_an_address_without_the_ray_executor_and_names_the_missing_extra(
    tmp_path, monkeypatch, capsys
):
    from rl.cli import main

    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": 1, "verifier": "json_schema@1", "response": "{}", "reference": OBJ})
        + "\n"
    )
    out = str(tmp_path / "out.jsonl")
    assert main(["grade", str(src), "-o", out, "--address", "127.0.0.1:1", "--no-progress"]) == 2
    assert "add --executor ray" in capsys.readouterr().err
    assert (
        main(["grade", str(src), "-o", out, "--executor", "ray", "--workers", "0", "--no-progress"])
        == 2
    )
    assert "workers per node" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["grade", str(src), "-o", out, "--executor", "ray", "--no-progress"]) == 2
    assert "pip install 'rlvr[ray]'" in capsys.readouterr().err
