"""Hostile programs in the Docker sandbox: each ends within its bound, the host is untouched and
no container is left behind beyond the warm pool's own (and none once the pool is closed)."""

from __future__ import annotations

import os
import socket
import time

import pytest

from sandbox import Limits, StopReason

pytestmark = pytest.mark.docker

PY = "python3"


@pytest.fixture(scope="module")
def hostile_box(docker_client):
    """A pool of its own, so the module can check that closing it leaves nothing behind."""
    from sandbox.docker.backend import DockerSandbox

    box = DockerSandbox(pool_size=1, client=docker_client)
    yield box
    box.close()


@pytest.fixture
def run_hostile(hostile_box, docker_client, owned_containers):
    """Run a program, then check the host's view: only pool containers exist, the pool still
    works."""

    def run(source: str, limits: Limits):
        started = time.monotonic()
        result = hostile_box.run([PY, "main.py"], files={"main.py": source}, limits=limits)
        # the supervisor's kill plus the cleanup and a replacement start
        bound = limits.wall_s + 10.0
        assert time.monotonic() - started < bound, f"run outlived its bound of {bound} s"
        from sandbox.docker.pool import live_container_ids

        leftovers = set(owned_containers(docker_client)) - live_container_ids()
        assert not leftovers, f"containers left behind: {leftovers}"
        probe = hostile_box.run([PY, "-c", "import os; print(sorted(os.listdir('/workspace')))"])
        assert probe.stdout == b"[]\n", "the next run must start from an empty workspace"
        return result

    return run


def test_infinite_loop(run_hostile):
    result = run_hostile("while True:\n    pass\n", Limits(wall_s=1))
    assert result.stop is StopReason.TIMEOUT and result.exit_code is None


def test_sleep_forever(run_hostile):
    result = run_hostile("import time\ntime.sleep(10 ** 6)\n", Limits(wall_s=1))
    assert result.stop is StopReason.TIMEOUT


def test_fork_bomb(run_hostile, hostile_box):
    source = (
        "import os, time\nfor _ in range(10 ** 6):\n    try:\n        os.fork()\n"
        "    except OSError:\n        time.sleep(0.01)\n"
    )
    result = run_hostile(source, Limits(wall_s=2, pids=32))
    assert result.stop in (StopReason.TIMEOUT, StopReason.EXITED, StopReason.KILLED)
    census = hostile_box.run(
        [PY, "-c", "import os; print(sum(p.isdigit() for p in os.listdir('/proc')))"],
        limits=Limits(pids=32),
    )
    # the supervisor, its zygote and the census: every bomb process is gone
    assert census.stdout == b"3\n"


def test_twenty_gigabyte_allocation(run_hostile):
    result = run_hostile(
        "block = bytearray(20 * 1024 ** 3)\nprint(len(block))\n", Limits(wall_s=10, memory_mb=256)
    )
    refused = (
        result.stop is StopReason.EXITED
        and result.exit_code != 0
        and b"MemoryError" in result.stderr
    )
    assert result.stop is StopReason.OUT_OF_MEMORY or refused, result
    assert result.stdout == b""


def test_endless_stdout(run_hostile):
    result = run_hostile(
        "while True:\n    print('x' * 999)\n", Limits(wall_s=5, output_bytes=100_000)
    )
    assert result.stop is StopReason.OUTPUT_LIMIT
    assert result.stdout_truncated and len(result.stdout) == 100_000


def test_filling_the_tmpfs(run_hostile):
    source = (
        "import errno\nwritten = 0\ntry:\n    for i in range(1000):\n"
        "        with open(f'fill{i}', 'wb') as f:\n"
        "            for _ in range(4):\n                f.write(b'\\0' * 2 ** 20); f.flush(); "
        "written += 2 ** 20\n"
        "except OSError as e:\n    print(errno.errorcode[e.errno], written // 2 ** 20)\n"
    )
    result = run_hostile(source, Limits(wall_s=10, tmpfs_mb=16, file_size_mb=8))
    code, megabytes = result.stdout.decode().split()
    assert code == "ENOSPC" and int(megabytes) <= 16


def test_connecting_to_the_hosts_loopback_reaches_nothing(run_hostile):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    source = (
        "import socket\nfor host in ('127.0.0.1', '172.17.0.1', 'host.docker.internal'):\n"
        "    try:\n        s = socket.create_connection((host, %d), timeout=2); "
        "s.sendall(b'pwned')\n"
        "        print('connected', host)\n"
        "    except OSError as e:\n        print('failed', host)\n" % port
    )
    try:
        result = run_hostile(source, Limits(wall_s=10))
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert result.stdout.decode().split("\n")[:3] == [
        "failed 127.0.0.1",
        "failed 172.17.0.1",
        "failed host.docker.internal",
    ]


def test_writing_outside_the_workspace_reaches_nothing(run_hostile, tmp_path):
    in_host_tmp = tmp_path / "pwned.txt"  # /tmp inside the container is its own tmpfs
    in_host_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pwned-by-sandbox.txt")
    paths = ["/pwned.txt", "/etc/pwned.txt", "/usr/lib/pwned.txt", in_host_dir, str(in_host_tmp)]
    source = (
        "import os\nfor p in %r:\n    try:\n        os.makedirs(os.path.dirname(p), "
        "exist_ok=True)\n"
        "        open(p, 'w').write('x'); print('wrote', p)\n"
        "    except OSError:\n        print('denied', p)\n" % (paths,)
    )
    result = run_hostile(source, Limits(wall_s=5))
    lines = result.stdout.decode().split("\n")
    assert lines[:3] == [f"denied {p}" for p in paths[:3]]
    # a checkout under /tmp lands in the container's own tmpfs
    if not in_host_dir.startswith("/tmp/"):
        assert lines[3] == f"denied {in_host_dir}"
    assert not any(os.path.exists(p) for p in paths)


def test_the_graders_environment_is_invisible(docker_client, monkeypatch):
    from sandbox.docker.backend import DockerSandbox

    secret = "rlvr-secret-" + os.urandom(8).hex()
    monkeypatch.setenv("RLVR_GRADER_SECRET", secret)
    source = (
        "import os, glob\nprint(os.environ)\n"
        "for p in glob.glob('/proc/*/environ'):\n"
        "    try:\n        print(open(p, 'rb').read())\n"
        "    except OSError as e:\n        print(p, e)\n"
    )
    # created after the secret was set
    with DockerSandbox(pool_size=1, client=docker_client) as box:
        result = box.run([PY, "main.py"], files={"main.py": source}, limits=Limits(wall_s=5))
    assert result.stop is StopReason.EXITED
    assert b"RLVR_GRADER_SECRET" not in result.stdout + result.stderr
    assert secret.encode() not in result.stdout + result.stderr


def test_killing_its_parent_leaves_the_supervisor_standing(run_hostile, hostile_box):
    before = hostile_box.pool.container_ids()
    source = (
        "import os, signal, time\n"  # the parent is PID 1 or (python3 FILE) the zygote
        "for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
        "    os.kill(os.getppid(), sig)\n    os.kill(1, sig)\n"
        "for _ in range(300):\n    if os.getppid() == 1:\n        break\n    time.sleep(0.01)\n"
        "print('still here', os.getppid())\n"
    )
    result = run_hostile(source, Limits(wall_s=5))
    assert result.stop is StopReason.EXITED and result.stdout == b"still here 1\n"
    assert hostile_box.pool.container_ids() == before  # the same container served the next run too


def test_closing_the_pool_leaves_no_container(docker_client, owned_containers, wait_until):
    from sandbox.docker.backend import DockerSandbox

    box = DockerSandbox(pool_size=2, client=docker_client)
    box.warm(count=2)
    ids = set(box.pool.container_ids())
    assert len(ids) == 2 and ids <= set(owned_containers(docker_client))
    box.close()
    assert wait_until(lambda: not (ids & set(owned_containers(docker_client))), timeout_s=20)
