"""The hostile-program corpus: each ends as a non-pass verdict, the host untouched, nothing left.

All programs are graded in ONE batch together with a correct program, which still passes, by
code@1 and by code@2.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading

import pytest
from code_backends import TEST_UIDS, backend, leftover_local_processes  # noqa: F401 - fixture

from verifiers import GradeItem, Status, grade_batch
from sandbox.local import LocalSandbox
from verifiers.code import CodeConfig, CodeVerifier, CodeVerifierV2

REFERENCE = {"tests": "assert f(1) == 2", "entry_point": "f"}
MARKER = f"rlvr-hostile-{secrets.token_hex(6)}"
SECRET_NAME = "RLVR_HOSTILE_GRADER_SECRET"


def hostile_programs(port: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (program, acceptable failure codes)."""
    return {
        "infinite_loop": ("def f(x):\n    while True:\n        pass", ("timeout",)),
        "sleep_forever": ("import time\ndef f(x):\n    time.sleep(10**6)", ("timeout",)),
        "fork_bomb": (
            "import os\ndef f(x):\n    while True:\n        try:\n            os.fork()\n"
            "        except OSError:\n            pass",
            ("timeout", "runtime_error", "memory_limit", "no_result"),
        ),
        "allocate_20_gb": ("def f(x):\n    return len(bytearray(20 * 10**9))", ("memory_limit",)),
        "endless_stdout": (
            "def f(x):\n    while True:\n        print('y' * 4096)",
            ("output_limit",),
        ),
        "fill_the_tmpfs": (
            "import os\ndef f(x):\n    i = 0\n    while True:\n"
            "        with open(f'/tmp/fill{i}', 'wb') as fh:\n"
            "            fh.write(b'z' * 1024 * 1024)\n"
            "        i += 1",
            ("runtime_error", "timeout"),
        ),
        "connect_to_host_loopback": (
            f"import socket\ndef f(x):\n    s = socket.create_connection(('127.0.0.1', {port}), "
            "timeout=2)\n"
            "    s.sendall(b'hello host')\n    return 2",
            ("runtime_error",),
        ),
        "write_outside_the_workspace": (
            "def f(x):\n    for d in ('/tmp', '/var/tmp', '/dev/shm', '/'):\n        try:\n"
            f"            open(d + '/{MARKER}', 'w').write('pwned')\n        except OSError:\n"
            "            pass\n"
            "    return 3",
            ("wrong_answer",),
        ),
        "read_the_grader_environment": (
            "import os\ndef f(x):\n    blob = repr(dict(os.environ)).encode()\n"
            "    for p in os.listdir('/proc'):\n        try:\n"
            "            blob += open('/proc/' + p + '/environ', 'rb').read()\n"
            "        except OSError:\n            pass\n"
            f"    return 2 if b'{SECRET_NAME}' in blob else 3",
            ("wrong_answer",),
        ),
        "kill_its_parent": (
            "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 2",
            ("no_result",),
        ),
        "kill_everything_it_can": (
            "import os, signal\ndef f(x):\n    os.kill(-1, signal.SIGKILL)\n    return 2",
            ("no_result", "runtime_error"),
        ),
        "syntax_error": ("def f(x) return 2", ("syntax_error",)),
    }


NEEDS_NAMESPACES = ("connect_to_host_loopback", "write_outside_the_workspace", "fill_the_tmpfs")
NEEDS_OWN_UID = ("kill_everything_it_can", "read_the_grader_environment", "fork_bomb")


def without_unsafe(programs: dict, box) -> dict:
    """Drop programs a weaker local sandbox cannot contain on this host (reason printed)."""
    if not isinstance(box, LocalSandbox):
        return programs
    dropped = [n for n in NEEDS_NAMESPACES if not box.namespaced] + [
        n for n in NEEDS_OWN_UID if not box.separate_uid
    ]
    for name in dropped:
        print(
            f"SKIP hostile program {name!r}: the local sandbox on this host lacks namespaces or a "
            "per-run uid"
        )
        programs.pop(name, None)
    return programs


class Listener:
    """A TCP server on the host's loopback that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[tuple] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(addr)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("version", [CodeVerifier, CodeVerifierV2], ids=["code@1", "code@2"])
def test_hostile_corpus_in_one_batch(backend, monkeypatch, version, wait_until):  # noqa: F811
    monkeypatch.setenv(SECRET_NAME, secrets.token_hex(8))
    listener = Listener()
    programs = without_unsafe(hostile_programs(listener.port), backend)
    verifier = version(CodeConfig(case_timeout_s=3, output_bytes=100_000), sandbox=backend)
    items = [
        GradeItem(program, REFERENCE, verifier, name) for name, (program, _) in programs.items()
    ]
    items.insert(
        len(items) // 2, GradeItem("def f(x):\n    return x + 1", REFERENCE, verifier, "correct")
    )
    try:
        verdicts = grade_batch(items, workers=0)
    finally:
        listener.close()
    by_name = {item.id: verdict for item, verdict in zip(items, verdicts)}
    assert by_name.pop("correct").status is Status.PASS
    for name, verdict in by_name.items():
        allowed = programs[name][1]
        assert verdict.status is Status.FAIL, (name, verdict.status, verdict.failure_reason)
        assert verdict.failure_reason.code in allowed, (name, verdict.failure_reason)
    assert listener.accepted == []
    for directory in ("/tmp", "/var/tmp", "/dev/shm", "/"):
        assert not os.path.exists(os.path.join(directory, MARKER))
    assert wait_until(lambda: leftover_local_processes() == [], timeout_s=20)


@pytest.mark.slow
def test_batch_through_worker_processes_with_the_sandbox_from_the_environment(monkeypatch):
    monkeypatch.setenv("RLVR_SANDBOX", "local")
    contained = CodeVerifier(
        CodeConfig(case_timeout_s=1), sandbox=LocalSandbox(uid_range=TEST_UIDS)
    )
    items = [
        GradeItem(
            "def f(x):\n    return x + 1", REFERENCE, "code@1", "good"
        ),  # sandbox from $RLVR_SANDBOX
        GradeItem(
            "def f(x):\n    while True:\n        pass",
            {"tests": "assert f(1) == 2"},
            contained,
            "loop",
        ),
        GradeItem("import os\nos.kill(os.getppid(), 9)", REFERENCE, contained, "killer"),
    ]
    verdicts = grade_batch(items, workers=2, timeout_s=60)
    assert [v.status for v in verdicts] == [Status.PASS, Status.FAIL, Status.FAIL]
    assert verdicts[0].details["backend"] == "local"
    assert verdicts[1].failure_reason.code == "timeout"
    assert leftover_local_processes() == []


@pytest.mark.slow
def test_docker_backend_leaves_no_container_behind(wait_until):
    from code_backends import open_backend

    box = open_backend("docker")  # skipped with the reason outside CI, a failure in CI
    verifier = CodeVerifier(CodeConfig(case_timeout_s=2), sandbox=box)
    programs = hostile_programs(1)
    statuses = [
        verifier.verify(programs[name][0], REFERENCE).status
        for name in ("fork_bomb", "sleep_forever")
    ]
    statuses.append(verifier.verify("def f(x):\n    return x + 1", REFERENCE).status)
    ids = box.pool.container_ids()
    box.close()
    assert statuses == [Status.FAIL, Status.FAIL, Status.PASS]
    assert ids, "the pool should have used at least one container"
    client = box._client
    assert wait_until(lambda: not [cid for cid in ids if _exists(client, cid)], timeout_s=30)


def _exists(client, container_id: str) -> bool:
    import docker.errors

    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    return True
