"""The :class:`Sandbox` protocol and the records it uses. Knows nothing about verifiers.

A sandbox runs one command over a set of files with hard limits and reports what happened::

    result = sandbox.run(
        ["python3", "main.py"], files={"main.py": "print(1)"}, limits=Limits(wall_s=2)
    )
    result.stop is StopReason.EXITED and result.stdout == b"1\\n"

Infrastructure trouble (engine unreachable, image missing) raises :class:`SandboxUnavailableError`;
anything the program itself does (loop, crash, flood) is reported in the :class:`RunResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable


class StopReason(str, Enum):
    """Why a run ended."""

    EXITED = "exited"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    OUTPUT_LIMIT = "output_limit"
    KILLED = "killed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run. Every field is enforced by every backend it applies to."""

    wall_s: float = 10.0
    """Wall-clock seconds before every process of the run is killed."""
    memory_mb: int = 512
    """Memory limit (Docker: cgroup memory with swap equal to memory; local: address space)."""
    cpu_s: float | None = None
    """CPU seconds (local backend's RLIMIT_CPU); ``None`` derives it from ``wall_s``."""
    cpus: float = 1.0
    """CPU quota in cores (Docker)."""
    pids: int = 64
    """Maximum number of processes/threads."""
    output_bytes: int = 1_000_000
    """Cap on each of stdout and stderr; more output stops the run with ``OUTPUT_LIMIT``."""
    file_size_mb: int = 16
    """Largest file the program may write."""
    open_files: int = 256
    """Maximum open file descriptors."""
    tmpfs_mb: int = 64
    """Size of the writable workspace."""

    def __post_init__(self) -> None:
        for name in (
            "wall_s",
            "memory_mb",
            "pids",
            "output_bytes",
            "file_size_mb",
            "open_files",
            "tmpfs_mb",
            "cpus",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class RunResult:
    """What one sandboxed run did."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    duration_s: float
    stop: StopReason
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    backend: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Backend facts worth recording: image tag/digest, isolation level, container id..."""


@runtime_checkable
class Sandbox(Protocol):
    """Run commands over files, isolated and bounded."""

    name: str
    """Backend name: ``docker`` or ``local`` (or a user's own)."""

    def run(
        self,
        command: Sequence[str],
        *,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> RunResult:
        """Run ``command`` in a fresh workspace holding ``files`` (paths relative to the
        workspace)."""
        ...

    def close(self) -> None:
        """Release every resource (containers, processes)."""
        ...
