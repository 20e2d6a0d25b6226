"""The Docker backend's package, without an engine: ``import docker`` in it is the SDK, and the
programs sent into containers (the supervisor with the zygote spliced in) are whole and run."""

from __future__ import annotations

import ast
import inspect
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox.docker
from sandbox import ImageMissingError, Limits, SandboxUnavailableError
from sandbox.docker import pool, supervisor
from sandbox.docker.image import image_info
from sandbox.docker.pool import ZYGOTE_LINE, ContainerSpec, supervisor_source, zygote_source

ROOT = Path(__file__).resolve().parents[2]
ZYGOTE_FILE = ROOT / "sandbox" / "docker" / "zygote.py"


def sent_namespace() -> dict:
    """What the sent supervisor defines, executed here as a module (its ``main`` does not run)."""
    namespace = {"__name__": "sent_supervisor"}
    exec(compile(supervisor_source(), "<sent supervisor>", "exec"), namespace)
    return namespace


def test_import_docker_inside_the_package_is_the_sdk():
    sdk = pytest.importorskip("docker")
    assert sdk is not sandbox.docker and hasattr(sdk, "from_env")
    assert not Path(sdk.__file__).resolve().is_relative_to(ROOT / "sandbox")

    class Images:
        def get(self, tag):
            raise sdk.errors.ImageNotFound(f"no {tag}")

    class Client:
        images = Images()

    with pytest.raises(ImageMissingError, match="rlvr sandbox build-image --tag nope:1"):
        image_info(Client(), "nope:1")  # `import docker` in sandbox/docker/image.py
    kwargs = ContainerSpec.from_limits(Limits()).create_kwargs()  # `from docker.types import ...`
    assert all(isinstance(u, sdk.types.Ulimit) for u in kwargs["ulimits"])


def test_the_sent_supervisor_holds_the_zygote_file_and_nothing_else_changes():
    text = ZYGOTE_FILE.read_text(encoding="utf-8")
    assert zygote_source() == text
    sent = supervisor_source()
    assert sent.replace(f"ZYGOTE_SOURCE = {text!r}\n", ZYGOTE_LINE, 1) == inspect.getsource(
        supervisor
    )
    namespace = sent_namespace()
    assert namespace["ZYGOTE_SOURCE"] == text
    assert namespace["MAGIC"] == supervisor.MAGIC
    compile(namespace["ZYGOTE_SOURCE"], "<zygote>", "exec")
    assert supervisor.ZYGOTE_SOURCE == ""  # filled in only in the text that is sent


def test_a_supervisor_without_its_splice_line_is_refused(monkeypatch):
    monkeypatch.setattr(pool.inspect, "getsource", lambda module: "print('no splice line')\n")
    with pytest.raises(SandboxUnavailableError, match="ZYGOTE_SOURCE"):
        supervisor_source()


def test_the_zygote_program_starts_answers_and_exits_as_the_supervisor_runs_it():
    """Started as the supervisor starts it: ready, refuses a run without its fds, exits on EOF."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, theirs:
        zygote = subprocess.Popen(
            [sys.executable, "-c", sent_namespace()["ZYGOTE_SOURCE"], str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stderr=subprocess.PIPE,
        )
        theirs.close()
        ours.settimeout(30)
        try:
            assert ours.recv(16) == b"R"
            ours.send(b"a run")  # without its stdin, stdout and stderr attached
            assert ours.recv(16) == b"E"
        finally:
            ours.close()
            _, stderr = zygote.communicate(timeout=30)
    assert zygote.returncode == 0, stderr.decode()


def test_importing_the_zygote_module_runs_none_of_it():
    probe = (
        "import ctypes, sandbox.docker.zygote as z; "
        "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), hasattr(z, 'JOB'))"  # PR_GET_DUMPABLE
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"]


def test_the_docker_modules_import_one_way():
    """engine <- image <- pool <- backend: no module imports one that imports it back."""
    order = ["errors", "base", "engine", "image", "supervisor", "zygote", "pool", "backend"]
    for name in order[2:]:
        tree = ast.parse((ROOT / "sandbox" / "docker" / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sandbox"):
                imported = [*node.module.split(".")[1:], *(a.name for a in node.names)]
                ours = [m for m in imported if m in order]
                assert all(order.index(m) < order.index(name) for m in ours), (name, ours)
