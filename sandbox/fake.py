"""``FakeSandbox``: a :class:`~sandbox.base.Sandbox` that runs nothing, for testing your own code.

Like httpx's ``MockTransport``: a handler decides what each run "did", and every call is kept in
:attr:`FakeSandbox.calls` for assertions. Use it to unit-test a verifier or tool built on the
Sandbox protocol without Docker; test anything that must really be isolated against a real
backend (``open_sandbox("docker")``).

>>> from sandbox import FakeSandbox, RunResult, StopReason
>>> def handler(command, files, stdin, limits):
...     if files.get("main.py", "").startswith("while True"):
...         return FakeSandbox.result(stop=StopReason.TIMEOUT, duration_s=limits.wall_s)
...     return FakeSandbox.result(stdout=b"42\\n")
>>> box = FakeSandbox(handler)
>>> box.run(["python3", "main.py"], files={"main.py": "print(42)"}).stdout
b'42\\n'
>>> box.run(["python3", "main.py"], files={"main.py": "while True: pass"}).stop.value
'timeout'
>>> len(box.calls), box.calls[0].command
(2, ('python3', 'main.py'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .base import Limits, RunResult, StopReason
from .errors import SandboxConfigError, SandboxUnavailableError

Handler = Callable[[tuple[str, ...], Mapping[str, str | bytes], bytes, Limits], RunResult]


@dataclass(frozen=True)
class FakeCall:
    """One recorded :meth:`FakeSandbox.run` call (files and stdin as given, limits resolved)."""

    command: tuple[str, ...]
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    stdin: bytes = b""
    limits: Limits = field(default_factory=Limits)


class FakeSandbox:
    """A sandbox whose runs are answered by ``handler(command, files, stdin, limits) -> RunResult``.

    Args:
        handler: decides each run's result; default: every run exits 0 with no output.

    It checks its arguments like the real backends (an empty command is a
    :class:`~sandbox.SandboxConfigError`, a closed sandbox raises
    :class:`~sandbox.SandboxUnavailableError`) and stamps ``backend="fake"`` on every result.
    """

    name = "fake"

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or (lambda command, files, stdin, limits: self.result())
        self.calls: list[FakeCall] = []
        self.closed = False

    def run(
        self,
        command: Sequence[str],
        *,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> RunResult:
        """Record the call and return the handler's result (see :class:`sandbox.base.Sandbox`)."""
        if self.closed:
            raise SandboxUnavailableError("this FakeSandbox is closed; create a new one")
        if not command:
            raise SandboxConfigError("command must name a program, e.g. ['python3', 'main.py']")
        call = FakeCall(
            tuple(command),
            dict(files or {}),
            stdin.encode() if isinstance(stdin, str) else bytes(stdin),
            limits or Limits(),
        )
        self.calls.append(call)
        result = self.handler(call.command, call.files, call.stdin, call.limits)
        if not isinstance(result, RunResult):
            raise TypeError(
                f"FakeSandbox handler must return a RunResult, got {type(result).__name__}; "
                "build one with FakeSandbox.result(...)"
            )
        return result if result.backend == self.name else _with_backend(result, self.name)

    def close(self) -> None:
        """Mark the sandbox closed (later runs raise, as with the real backends)."""
        self.closed = True

    def __enter__(self) -> "FakeSandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @staticmethod
    def result(
        *,
        stdout: bytes = b"",
        stderr: bytes = b"",
        exit_code: int | None = 0,
        stop: StopReason = StopReason.EXITED,
        duration_s: float = 0.0,
        **details: Any,
    ) -> RunResult:
        """A :class:`~sandbox.RunResult` with defaults for everything not given (exit 0, no output).

        A run that did not exit on its own (``stop`` other than ``EXITED``) gets ``exit_code=None``
        unless one is given.
        """
        if stop is not StopReason.EXITED and exit_code == 0:
            exit_code = None
        return RunResult(
            exit_code=exit_code,
            stdout=stdout,
            stderr=stderr,
            duration_s=duration_s,
            stop=stop,
            backend="fake",
            details=details,
        )


def _with_backend(result: RunResult, backend: str) -> RunResult:
    from dataclasses import replace

    return replace(result, backend=backend)
