"""The local sandbox backend against real child processes (no mocks)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import threading
import time

import pytest

from sandbox.base import Limits, RunResult, Sandbox, StopReason
from sandbox.errors import SandboxConfigError, SandboxUnavailableError
from sandbox.local import LocalSandbox, processes_in_uid_range

TEST_UIDS = (3_000_000_000 + secrets.randbelow(10_000) * 10_000,)
TEST_UIDS = (TEST_UIDS[0], TEST_UIDS[0] + 10_000)
"""A uid range private to this test module, so concurrent sandboxes of other jobs do not count as
leftovers."""

PROBE = LocalSandbox()
needs_root = pytest.mark.skipif(
    not PROBE.separate_uid, reason="per-run uid isolation of the local backend needs root"
)
needs_namespaces = pytest.mark.skipif(
    not PROBE.namespaced,
    reason="this host refuses network/mount namespaces (needs root and CAP_SYS_ADMIN)",
)


@pytest.fixture(scope="module")
def box():
    sandbox = LocalSandbox(uid_range=TEST_UIDS)
    yield sandbox
    sandbox.close()


def py(box: LocalSandbox, code: str, **kwargs) -> RunResult:
    limits = kwargs.pop("limits", Limits(wall_s=10))
    return box.run(["python3", "-c", code], limits=limits, **kwargs)


def leftovers() -> list[int]:
    return processes_in_uid_range(*TEST_UIDS)


def test_implements_the_protocol(box):
    assert isinstance(box, Sandbox)
    assert box.name == "local"


def test_runs_command_with_files_and_stdin(box):
    result = box.run(
        ["python3", "main.py"],
        files={
            "main.py": "import sys\nprint(open('d/x.txt').read(), sys.stdin.read())",
            "d/x.txt": "data",
        },
        stdin="input",
    )
    assert result.stop is StopReason.EXITED
    assert result.exit_code == 0
    assert result.stdout == b"data input\n"
    assert result.backend == "local"
    assert "local" in result.details["isolation"]


def test_exit_code_and_stderr_are_reported(box):
    result = py(box, "import sys; sys.stderr.write('bad'); sys.exit(3)")
    assert (result.exit_code, result.stderr, result.stop) == (3, b"bad", StopReason.EXITED)


def test_environment_is_scrubbed(box, monkeypatch):
    token = secrets.token_hex(8)
    monkeypatch.setenv("RLVR_GRADER_SECRET", token)
    result = py(box, "import os; print(sorted(os.environ))")
    assert b"RLVR_GRADER_SECRET" not in result.stdout
    assert token.encode() not in result.stdout


def test_infinite_loop_times_out(box):
    result = py(box, "while True: pass", limits=Limits(wall_s=1))
    assert result.stop is StopReason.TIMEOUT
    assert result.exit_code is None


def test_background_processes_are_killed_on_timeout(box):
    result = box.run(["sh", "-c", "sleep 300 & sleep 300 & sleep 300"], limits=Limits(wall_s=1))
    assert result.stop is StopReason.TIMEOUT
    assert leftovers() == []


@needs_root
def test_process_that_leaves_the_session_is_killed_at_exit(box):
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\n"
        "print('parent done')"
    )
    result = py(box, code)
    assert result.stdout == b"parent done\n"
    assert leftovers() == []


def test_endless_output_is_capped(box):
    result = py(box, "while True: print('x' * 1000)", limits=Limits(wall_s=10, output_bytes=10_000))
    assert result.stop is StopReason.OUTPUT_LIMIT
    assert result.stdout_truncated
    assert len(result.stdout) == 10_000


def test_huge_allocation_hits_the_memory_limit(box):
    result = py(box, "x = bytearray(20 * 10**9)", limits=Limits(wall_s=10, memory_mb=256))
    assert result.stop is StopReason.OUT_OF_MEMORY


def test_file_size_is_limited(box):
    result = py(
        box,
        "open('big', 'wb').write(b'x' * (3 * 1024 * 1024))",
        limits=Limits(wall_s=10, file_size_mb=1),
    )
    assert result.exit_code != 0
    assert b"File too large" in result.stderr


@needs_root
def test_fork_bomb_is_bounded(box):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = py(box, code, limits=Limits(wall_s=2, pids=32))
    assert result.stop in (StopReason.TIMEOUT, StopReason.EXITED, StopReason.KILLED)
    assert leftovers() == []


@needs_namespaces
def test_filling_the_workspace_tmpfs_stops_at_its_size(box):
    code = "import os\nfor i in range(100):\n    open(f'f{i}', 'wb').write(b'x' * 4 * 1024 * 1024)"
    result = py(box, code, limits=Limits(wall_s=10, tmpfs_mb=16, file_size_mb=8))
    assert result.exit_code != 0
    assert b"No space left on device" in result.stderr


@needs_namespaces
def test_host_loopback_is_unreachable(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e)"
    )
    result = py(box, code)
    thread.join()
    server.close()
    assert b"refused" in result.stdout
    assert accepted == []
    assert result.details["network_isolated"] is True


@needs_namespaces
def test_writes_outside_the_workspace_never_reach_the_host(box):
    marker = f"rlvr-local-test-{secrets.token_hex(6)}"
    code = (
        "import os\nfor d in ('/tmp', '/var/tmp', '/dev/shm', '/workspace/..'):\n"
        f"    try:\n        open(os.path.join(d, '{marker}'), 'w').write('x')\n"
        "    except OSError:\n        pass\n"
        "print(os.getcwd())"
    )
    result = py(box, code)
    assert result.stdout == b"/workspace\n"
    for directory in ("/tmp", "/var/tmp", "/dev/shm", "/"):
        assert not os.path.exists(os.path.join(directory, marker))


@needs_namespaces
def test_host_files_outside_the_system_dirs_are_invisible(box):
    here = os.path.abspath(__file__)
    result = py(
        box,
        f"import os; print(os.path.exists({here!r}), os.path.exists('/root'), "
        "os.path.exists('/usr/bin/python3'))",
    )
    assert result.stdout == b"False False True\n"


@needs_root
def test_runs_as_an_unprivileged_uid(box):
    result = py(box, "import os; print(os.getuid())")
    assert TEST_UIDS[0] <= int(result.stdout) < TEST_UIDS[1]


@needs_root
def test_grader_environment_of_other_processes_is_unreadable(box, monkeypatch):
    token = secrets.token_hex(8)
    monkeypatch.setenv("RLVR_GRADER_SECRET", token)
    code = (
        "import os\nfound = []\nfor p in os.listdir('/proc'):\n    try:\n"
        "        found.append(open(f'/proc/{p}/environ', 'rb').read())\n    except OSError:\n"
        "        pass\n"
        "print(b''.join(found).hex())"
    )
    # the grader's own environment changed after start is in its memory, not /proc/environ; spawn a
    # child that has it
    holder = subprocess.Popen(["sleep", "30"], env={**os.environ})
    try:
        result = py(box, code)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0
    assert token.encode().hex().encode() not in result.stdout


def test_bad_file_names_are_rejected(box):
    with pytest.raises(SandboxConfigError, match="relative path inside the workspace"):
        box.run(["true"], files={"../escape": "x"})
    with pytest.raises(SandboxConfigError, match="relative path inside the workspace"):
        box.run(["true"], files={"/etc/passwd": "x"})


def test_missing_program_is_an_infrastructure_error(box):
    with pytest.raises(SandboxUnavailableError, match="not installed on this host"):
        box.run(["no-such-program-rlvr"])


def test_closed_sandbox_refuses_to_run():
    sandbox = LocalSandbox()
    sandbox.close()
    with pytest.raises(SandboxUnavailableError, match="closed"):
        sandbox.run(["true"])


def test_bad_uid_range_is_rejected():
    with pytest.raises(SandboxConfigError, match="uid_range"):
        LocalSandbox(uid_range=(0, 10))


def test_bad_isolate_option_is_rejected():
    with pytest.raises(SandboxConfigError, match="isolate must be 'auto' or 'rlimits'"):
        LocalSandbox(isolate="none")


def test_rlimits_only_mode_still_bounds_the_program(tmp_path):
    sandbox = LocalSandbox(isolate="rlimits", workspace_base=str(tmp_path))
    assert "NETWORK NOT ISOLATED" in sandbox.isolation
    assert py(sandbox, "print(1)").stdout == b"1\n"
    assert py(sandbox, "while True: pass", limits=Limits(wall_s=1)).stop is StopReason.TIMEOUT
    assert (
        py(sandbox, "x = bytearray(20 * 10**9)", limits=Limits(wall_s=10, memory_mb=256)).stop
        is StopReason.OUT_OF_MEMORY
    )
    assert list(tmp_path.iterdir()) == []


def test_workspaces_are_removed(box):
    before = set(os.listdir(box._base))
    py(box, "open('x', 'w').write('y')")
    assert set(os.listdir(box._base)) == before


IPC_PROGRAM = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
key = int(sys.argv[1])
IPC_CREAT = 0o1000
shm = libc.shmget(key, 64 << 20, IPC_CREAT | 0o666)
addr = libc.shmat(shm, None, 0)
msg = libc.msgget(key, IPC_CREAT | 0o666)
sem = libc.semget(key, 1, IPC_CREAT | 0o666)
print(shm >= 0, msg >= 0, sem >= 0)
"""
FIND_PROGRAM = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
key = int(sys.argv[1])
print(libc.shmget(key, 0, 0), libc.msgget(key, 0), libc.semget(key, 0, 0))
"""


def host_ipc_objects_in(first: int, end: int) -> list[tuple[str, int]]:
    from sandbox.local import sysv_ipc_ids

    return [
        (table, ident)
        for uid in _uids_with_ipc(first, end)
        for table in ("shm", "msg", "sem")
        for ident in sysv_ipc_ids(table, uid)
    ]


def _uids_with_ipc(first: int, end: int) -> set[int]:
    uids = set()
    for table in ("shm", "msg", "sem"):
        try:
            lines = open(f"/proc/sysvipc/{table}").read().splitlines()
        except OSError:
            continue
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            for column in ("uid", "cuid"):
                if first <= int(row.get(column, -1)) < end:
                    uids.add(int(row[column]))
    return uids


def create_and_look_up_ipc(sandbox: LocalSandbox) -> bytes:
    key = str(0x5200000 + secrets.randbelow(1 << 20))
    made = sandbox.run(["python3", "-c", IPC_PROGRAM, key], limits=Limits(wall_s=10, memory_mb=256))
    assert made.stdout == b"True True True\n", made.stderr[-300:]
    return sandbox.run(["python3", "-c", FIND_PROGRAM, key], limits=Limits(wall_s=10)).stdout


@needs_root
def test_system_v_ipc_objects_die_with_the_run(box):
    found_by_next_run = create_and_look_up_ipc(box)
    assert found_by_next_run == b"-1 -1 -1\n"  # a later run finds none of them
    assert host_ipc_objects_in(*TEST_UIDS) == []
    if box.namespaced:
        assert "IPC namespace" in box.isolation


@needs_root
def test_without_an_ipc_namespace_the_runs_ipc_objects_are_removed(monkeypatch):
    import sandbox.local as local

    flags = local._CLONE_NEWNS | local._CLONE_NEWNET if PROBE.namespaced else 0
    monkeypatch.setattr(local, "_UNSHARE_FLAGS", flags)
    sandbox = LocalSandbox(uid_range=TEST_UIDS)
    assert "IPC objects of the run's uid removed after it" in sandbox.isolation
    assert create_and_look_up_ipc(sandbox) == b"-1 -1 -1\n"
    assert host_ipc_objects_in(*TEST_UIDS) == []


def test_rlimits_only_mode_says_ipc_is_not_isolated(tmp_path):
    assert (
        "IPC NOT ISOLATED"
        in LocalSandbox(isolate="rlimits", workspace_base=str(tmp_path)).isolation
    )
