"""``FakeSandbox``: the protocol's shape, recorded calls, argument checks, and use in a user's own
verifier."""

from __future__ import annotations

import pytest

from sandbox import (
    FakeSandbox,
    Limits,
    RunResult,
    Sandbox,
    SandboxConfigError,
    SandboxUnavailableError,
    StopReason,
)
from verifiers.base import BaseVerifier, Outcome


def test_it_is_a_sandbox_and_answers_exit_0_by_default():
    box = FakeSandbox()
    assert isinstance(box, Sandbox)
    result = box.run(["python3", "-c", "print(1)"], stdin="in", limits=Limits(wall_s=3))
    assert (result.exit_code, result.stdout, result.stop, result.backend) == (
        0,
        b"",
        StopReason.EXITED,
        "fake",
    )
    (call,) = box.calls
    assert (
        call.command == ("python3", "-c", "print(1)")
        and call.stdin == b"in"
        and call.limits.wall_s == 3
    )
    assert box.run(["true"]).backend == "fake" and box.calls[1].limits == Limits()


def test_handler_results_are_returned_and_stamped_fake():
    box = FakeSandbox(
        lambda command, files, stdin, limits: RunResult(1, b"", b"boom", 0.1, StopReason.EXITED)
    )
    result = box.run(["x"], files={"a.py": b"1"})
    assert (result.exit_code, result.stderr, result.backend) == (1, b"boom", "fake")
    assert box.calls[0].files == {"a.py": b"1"}


def test_result_builder_leaves_no_exit_code_on_a_stopped_run():
    assert FakeSandbox.result(stop=StopReason.TIMEOUT).exit_code is None
    assert FakeSandbox.result(stop=StopReason.KILLED, exit_code=-9).exit_code == -9
    assert FakeSandbox.result(image="x").details == {"image": "x"}


def test_misuse_raises_like_the_real_backends():
    box = FakeSandbox(lambda *args: "not a result")
    with pytest.raises(SandboxConfigError, match="command must name a program"):
        box.run([])
    with pytest.raises(TypeError, match="must return a RunResult, got str"):
        box.run(["x"])
    with FakeSandbox() as closed:
        pass
    with pytest.raises(SandboxUnavailableError, match="closed"):
        closed.run(["x"])


class ExitCodeVerifier(BaseVerifier):
    """A user's verifier: passes when the program exits 0 within the limit. Versions: 1 - first
    version."""

    name, version, description = "exit_code_test", 1, "program exits 0"

    def __init__(self, box):
        self.box = box

    def check(self, response, reference):
        result = self.box.run(
            ["python3", "main.py"], files={"main.py": response}, limits=Limits(wall_s=1)
        )
        if result.stop is StopReason.TIMEOUT:
            return Outcome.timeout("the program ran past 1 s")
        if result.exit_code != 0:
            return Outcome.failed("nonzero_exit", result.stderr.decode(errors="replace"))
        return Outcome.passed()


def test_a_user_verifier_is_tested_on_every_branch_without_docker():
    def handler(command, files, stdin, limits):
        source = files["main.py"]
        if "while True" in source:
            return FakeSandbox.result(stop=StopReason.TIMEOUT, duration_s=limits.wall_s)
        if "raise" in source:
            return FakeSandbox.result(exit_code=1, stderr=b"ValueError")
        return FakeSandbox.result()

    verifier = ExitCodeVerifier(FakeSandbox(handler))
    statuses = [
        verifier.verify(src, {}).status.value
        for src in ("print(1)", "raise ValueError", "while True: pass")
    ]
    assert statuses == ["pass", "fail", "timeout"]
    assert verifier.verify("raise ValueError", {}).failure_reason.message == "ValueError"
