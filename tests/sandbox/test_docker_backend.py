"""The Docker backend against a real engine: protocol behaviour and every hardening setting."""

from __future__ import annotations

import json
import threading

import pytest

from sandbox import Limits, Sandbox, SandboxConfigError, SandboxUnavailableError, StopReason

pytestmark = pytest.mark.docker

PY = "python3"


def run_py(box, source: str, **kwargs):
    return box.run([PY, "main.py"], files={"main.py": source}, **kwargs)


def test_is_a_sandbox(docker_box):
    assert isinstance(docker_box, Sandbox)
    assert docker_box.name == "docker"


def test_files_stdin_stdout_stderr_and_exit_code(docker_box):
    source = (
        "import sys\ndata = open('dir/in.txt').read()\nprint(data + sys.stdin.read())\n"
        "print('oops', file=sys.stderr)\nsys.exit(3)\n"
    )
    result = docker_box.run(
        [PY, "main.py"], files={"main.py": source, "dir/in.txt": b"file-"}, stdin="stdin"
    )
    assert (result.stop, result.exit_code) == (StopReason.EXITED, 3)
    assert result.stdout == b"file-stdin\n"
    assert result.stderr == b"oops\n"
    assert result.backend == "docker"
    assert not result.stdout_truncated and not result.stderr_truncated


def test_details_record_the_image_tag_and_id(docker_box, docker_client):
    result = docker_box.run(["true"])
    assert result.details["image"] == docker_box.image
    assert result.details["image_id"] == docker_client.images.get(docker_box.image).id
    assert result.details["image_digest"] == result.details["image_id"]
    assert result.details["network_isolated"] is True
    assert result.details["isolation"] == "docker"


def test_compiled_programs_run_from_the_workspace(docker_box):
    source = (
        "#include <stdio.h>\n"
        "int main(void) { int x; scanf(\"%d\", &x); printf(\"%d\\n\", 2 * x); }\n"
    )
    result = docker_box.run(
        ["sh", "-c", "gcc -O2 -o prog main.c && ./prog"], files={"main.c": source}, stdin="21"
    )
    assert (result.stop, result.stdout) == (StopReason.EXITED, b"42\n"), result.stderr


def test_large_stdin_round_trips(docker_box):
    payload = bytes(range(256)) * 4096  # 1 MiB, binary
    result = docker_box.run(["cat"], stdin=payload, limits=Limits(output_bytes=2_000_000))
    assert result.stop is StopReason.EXITED
    assert result.stdout == payload


def test_stderr_over_the_limit_is_truncated(docker_box):
    result = run_py(
        docker_box, "import sys\nsys.stderr.write('e' * 5000)\n", limits=Limits(output_bytes=1000)
    )
    assert result.stop is StopReason.OUTPUT_LIMIT
    assert result.stderr_truncated and result.stderr == b"e" * 1000


def test_killed_by_a_signal(docker_box):
    result = run_py(docker_box, "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    assert result.stop is StopReason.KILLED
    assert result.exit_code is None and result.details["signal"] == 15


def test_cpu_seconds_limit_stops_a_busy_loop(docker_box):
    result = run_py(docker_box, "while True: pass\n", limits=Limits(wall_s=20, cpu_s=1))
    assert result.stop is StopReason.TIMEOUT


def test_process_environment_is_scrubbed(docker_box):
    result = run_py(docker_box, "import os, json\nprint(json.dumps(dict(os.environ)))\n")
    env = json.loads(result.stdout)
    assert set(env) <= {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "PYTHONHASHSEED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
    }
    assert env["HOME"] == "/workspace"


def test_runs_unprivileged_without_capabilities(docker_box):
    source = (
        "import os\nstatus = open('/proc/self/status').read()\n"
        "print(os.getuid(), os.getgid())\n"
        "print([l.split()[1] for l in status.splitlines() if l.startswith(('CapEff', 'CapPrm', "
        "'CapBnd'))])\n"
        "print([l.split()[1] for l in status.splitlines() if l.startswith('NoNewPrivs')])\n"
    )
    lines = run_py(docker_box, source).stdout.decode().splitlines()
    assert lines == [
        "65534 65534",
        "['0000000000000000', '0000000000000000', '0000000000000000']",
        "['1']",
    ]


def test_root_filesystem_is_read_only_and_workspace_is_bounded(docker_box):
    source = (
        "import os, errno\n"
        "try:\n    open('/etc/x', 'w')\nexcept OSError as e:\n    print(errno.errorcode[e.errno])\n"
        "st = os.statvfs('/workspace')\nprint(st.f_blocks * st.f_frsize // 2**20)\n"
        "print(os.getcwd())\n"
    )
    lines = run_py(docker_box, source, limits=Limits(tmpfs_mb=32)).stdout.decode().split()
    assert lines[0] in ("EROFS", "EACCES")
    assert int(lines[1]) == 32
    assert lines[2] == "/workspace"


def test_rlimits_and_cgroup_limits_apply(docker_box):
    limits = Limits(file_size_mb=3, open_files=100, pids=20)
    source = (
        "import resource\n"
        "print(resource.getrlimit(resource.RLIMIT_FSIZE)[0] // 2**20)\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
        "for p in ('/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max'):\n"
        "    try:\n        print(open(p).read().strip()); break\n"
        "    except OSError: pass\n"
    )
    lines = run_py(docker_box, source, limits=limits).stdout.decode().split()
    assert lines == ["3", "100", "22"]  # the run's pids + the supervisor + its zygote


def test_no_network_interface_but_loopback(docker_box):
    result = run_py(
        docker_box,
        "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n",
    )
    assert result.stdout == b"['lo']\n"


def test_container_configuration_is_hardened(docker_box, docker_client):
    limits = Limits(memory_mb=200, cpus=0.5, pids=30, tmpfs_mb=16)
    docker_box.run(["true"], limits=limits)
    from sandbox.docker.pool import SUPERVISOR_HEADROOM_MB

    configs = [docker_client.api.inspect_container(cid) for cid in docker_box.pool.container_ids()]
    config = next(c for c in configs if c["HostConfig"]["PidsLimit"] == 32)  # + supervisor + zygote
    host = config["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Memory"] == host["MemorySwap"] == (200 + SUPERVISOR_HEADROOM_MB) * 2**20
    assert host["NanoCpus"] == 500_000_000
    assert (
        set(host["Tmpfs"]) == {"/workspace", "/tmp"} and "size=16m" in host["Tmpfs"]["/workspace"]
    )
    assert {u["Name"] for u in host["Ulimits"]} >= {"fsize", "nofile"}
    # no host mounts at all
    assert not host["Binds"] and not host.get("Mounts") and config["Mounts"] == []
    assert not host["Privileged"] and host["AutoRemove"] is True
    assert config["Config"]["User"] == "65534:65534"
    assert {e.split("=")[0] for e in config["Config"]["Env"]} <= {"PATH", "LANG"}


def test_a_missing_interpreter_is_an_infrastructure_error(docker_box):
    with pytest.raises(
        SandboxUnavailableError, match="cannot start 'no-such-interpreter'.*--include"
    ):
        docker_box.run(["no-such-interpreter", "x"])


def test_a_missing_program_of_the_run_is_the_runs_failure(docker_box):
    result = docker_box.run(["./prog"])
    assert (result.stop, result.exit_code) == (StopReason.EXITED, 127)
    assert result.stderr.startswith(b"sandbox: cannot execute ./prog: FileNotFoundError")
    not_executable = docker_box.run(["./prog"], files={"prog": "not a binary"})
    assert (not_executable.stop, not_executable.exit_code) == (StopReason.EXITED, 126)


@pytest.mark.parametrize("path", ["/etc/passwd", "../up.txt", "a/../../up.txt", "."])
def test_paths_must_stay_in_the_workspace(docker_box, path):
    with pytest.raises(SandboxConfigError, match="must be relative and stay inside the workspace"):
        docker_box.run(["true"], files={path: "x"})


@pytest.mark.parametrize("command", ["python3 main.py", [], ["python3", 3]])
def test_command_must_be_a_list_of_strings(docker_box, command):
    with pytest.raises(SandboxConfigError, match="non-empty list of strings"):
        docker_box.run(command)


def test_parallel_runs_share_the_pool(docker_box):
    results = [None] * 6

    def work(i):
        results[i] = docker_box.run([PY, "-c", f"print({i} * 2)"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.stdout for r in results] == [f"{i * 2}\n".encode() for i in range(6)]
    assert len(docker_box.pool.container_ids()) <= docker_box.pool.max_size


def test_container_killed_mid_run_is_retried_on_a_fresh_one(docker_client):
    from sandbox.docker.backend import DockerSandbox

    with DockerSandbox(pool_size=1, client=docker_client) as box:
        box.warm()
        (first,) = box.pool.container_ids()
        killer = threading.Timer(1.0, lambda: docker_client.containers.get(first).kill())
        killer.start()
        result = box.run(["sh", "-c", "sleep 2; echo done"], limits=Limits(wall_s=10))
        killer.join()
        assert result.stdout == b"done\n"
        assert first not in box.pool.container_ids()


def test_a_broken_image_fails_after_bounded_retries(docker_client, tmp_path):
    from sandbox.docker.backend import DockerSandbox
    from sandbox.docker.backend import default_image

    (tmp_path / "Dockerfile").write_text(f"FROM {default_image()}\nENTRYPOINT [\"/bin/false\"]\n")
    tag = "rlvr-sandbox-test:broken"
    docker_client.images.build(path=str(tmp_path), tag=tag, rm=True, pull=False)
    try:
        with DockerSandbox(tag, pool_size=1, retries=1, client=docker_client) as box:
            with pytest.raises(SandboxUnavailableError, match="failed 2 times.*did not start"):
                box.run(["true"])
    finally:
        docker_client.images.remove(tag, force=True)


def test_the_supervisor_cannot_be_inspected_or_traced(docker_box):
    source = (
        "import ctypes, os\nfor p in ('/proc/1/mem', '/proc/1/environ'):\n"
        "    try:\n        open(p, 'rb').read(1); print('read', p)\n"
        "    except OSError as e:\n        print('denied', p)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('ptrace', libc.ptrace(16, 1, None, None))\n"
    )  # PTRACE_ATTACH
    result = run_py(docker_box, source)
    assert result.stdout == b"denied /proc/1/mem\ndenied /proc/1/environ\nptrace -1\n"


def test_engine_gone_is_unavailable_after_bounded_retries(docker_client):
    import docker

    from sandbox.docker.backend import DockerSandbox

    box = DockerSandbox(pool_size=1, retries=2, client=docker_client)
    try:
        box.warm()
        # the engine "goes away": containers die, API unreachable
        for cid in box.pool.container_ids():
            docker_client.containers.get(cid).kill()
        box.pool._client = docker.DockerClient(
            base_url="unix:///nonexistent/rlvr-docker.sock", version="1.41"
        )
        with pytest.raises(
            SandboxUnavailableError, match="failed 3 times.*cannot create a sandbox container"
        ):
            box.run(["true"])
    finally:
        box.close()


def test_the_oom_killer_picks_the_run_not_the_supervisor(docker_box):
    result = run_py(
        docker_box,
        "print(open('/proc/self/oom_score_adj').read().strip(), "
        "open('/proc/1/oom_score_adj').read().strip())\n",
    )
    assert result.stdout == b"1000 0\n"
