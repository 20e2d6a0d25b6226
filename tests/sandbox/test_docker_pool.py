"""The warm pool: containers are reused, yet nothing of one run is visible to the next."""

from __future__ import annotations

import json

import pytest

from sandbox import Limits, StopReason

pytestmark = pytest.mark.docker

LEAVE_TRACES = r'''
import ctypes, os, subprocess, sys
before = sorted(
    int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())
)
os.environ["TRACE_VAR"] = "1"
for path in ("/workspace/trace.txt", "/tmp/trace.txt", "/dev/shm/trace",
             "/workspace/.hidden/trace"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write("trace")
open("/workspace/evil_module.py", "w").write("PWNED = True\n")
os.makedirs("/workspace/locked/inner")
os.chmod("/workspace/locked", 0)
libc = ctypes.CDLL(None, use_errno=True)
assert libc.shmget(0, 4096, 0o1600) >= 0  # SysV shared memory (IPC_PRIVATE)
assert libc.msgget(0, 0o1600) >= 0  # SysV message queue
rt = ctypes.CDLL("librt.so.1", use_errno=True)
rt.mq_open.restype = ctypes.c_int
assert rt.mq_open(b"/trace", os.O_CREAT | os.O_RDWR, 0o600, None) >= 0  # POSIX message queue
daemon = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\n"
subprocess.Popen([sys.executable, "-c", daemon], start_new_session=True)
print("left traces", before)
'''

LOOK_FOR_TRACES = r'''
import json, os, sys
found = {}
for directory in ("/workspace", "/tmp", "/dev/shm", "/dev/mqueue"):
    found[directory] = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
found["processes"] = sorted(
    int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())
)
found["sysv"] = {
    k: open("/proc/sysvipc/" + k).read().splitlines()[1:] for k in ("shm", "msg", "sem")
}
found["zygote"] = [
    b"JOB = serve(" in open("/proc/%d/cmdline" % p, "rb").read() for p in found["processes"]
]
found["env"] = "TRACE_VAR" in os.environ
try:
    import evil_module
    found["module"] = True
except ImportError:
    found["module"] = False
print(json.dumps(found))
'''


@pytest.fixture(scope="module")
def single_box(docker_client):
    """One container, so consecutive runs are guaranteed to share it."""
    from sandbox.docker.backend import DockerSandbox

    box = DockerSandbox(pool_size=1, client=docker_client)
    yield box
    box.close()


def test_a_container_serves_many_runs(single_box):
    single_box.warm()
    ids = single_box.pool.container_ids()
    for i in range(5):
        assert single_box.run(["python3", "-c", f"print({i})"]).stdout == f"{i}\n".encode()
    assert single_box.pool.container_ids() == ids


def test_nothing_of_one_run_is_visible_to_the_next(single_box):
    single_box.warm()
    ids = single_box.pool.container_ids()
    first = single_box.run(
        ["python3", "leave.py"], files={"leave.py": LEAVE_TRACES}, limits=Limits(wall_s=10)
    )
    assert first.stop is StopReason.EXITED and first.stdout.startswith(b"left traces "), (
        first.stderr
    )
    # the supervisor's pristine fork server
    zygote = json.loads(first.stdout[len(b"left traces ") :])
    assert len(zygote) == 1
    second = single_box.run(["python3", "look.py"], files={"look.py": LOOK_FOR_TRACES})
    found = json.loads(second.stdout)
    assert found == {
        "/workspace": ["look.py"],
        "/tmp": [],
        "/dev/shm": [],
        "/dev/mqueue": [],
        "processes": zygote,
        "zygote": [True],
        "sysv": {"shm": [], "msg": [], "sem": []},
        "env": False,
        "module": False,
    }
    assert single_box.pool.container_ids() == ids  # cleaned in place, not replaced


def test_an_unhealthy_container_is_replaced(
    single_box, docker_client, owned_containers, wait_until
):
    from sandbox.docker.pool import ContainerSpec

    spec = ContainerSpec.from_limits(single_box.default_limits)
    worker = single_box.pool.acquire(spec)
    old = worker.id
    single_box.pool.release(worker, healthy=False)
    assert wait_until(lambda: old not in owned_containers(docker_client), timeout_s=20)
    assert single_box.run(["true"]).stop is StopReason.EXITED
    assert single_box.pool.container_ids() != [old]


def test_a_different_limits_spec_evicts_an_idle_container(single_box):
    single_box.warm()
    (old,) = single_box.pool.container_ids()
    result = single_box.run(["python3", "-c", "print(1)"], limits=Limits(pids=17))
    assert result.stdout == b"1\n"
    (new,) = single_box.pool.container_ids()
    assert new != old


def test_a_forked_child_gets_its_own_containers(single_box):
    import multiprocessing

    single_box.warm()
    parent_ids = single_box.pool.container_ids()
    _INHERITED["box"] = single_box  # reaches the child through fork, not pickling
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as workers:
        child = workers.apply(_run_in_child)
    assert child["stdout"] == b"7\n" and not set(child["ids"]) & set(parent_ids)
    assert single_box.pool.container_ids() == parent_ids
    assert single_box.run(["python3", "-c", "print(8)"]).stdout == b"8\n"


_INHERITED: dict = {}


def _run_in_child():
    box = _INHERITED["box"]
    result = box.run(["python3", "-c", "print(7)"])
    ids = box.pool.container_ids()
    box.close()
    return {"stdout": result.stdout, "ids": ids}
