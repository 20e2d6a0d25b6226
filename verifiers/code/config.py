"""Configuration of the ``code@1`` verifier."""

from __future__ import annotations

from dataclasses import dataclass

SANDBOX_KINDS = ("auto", "docker", "local")


@dataclass(frozen=True)
class CodeConfig:
    """How ``code@1`` runs candidate programs.

    >>> CodeConfig(case_timeout_s=2).case_timeout_s
    2
    """

    case_timeout_s: float = 5.0
    """Wall-clock seconds allowed per test case (and for loading the program)."""
    memory_mb: int = 512
    """Address-space limit of the candidate process (and of the sandbox run as a whole)."""
    output_bytes: int = 1_000_000
    """Largest stdout a test case may produce; more ends the case with ``output_limit``."""
    sandbox: str | None = None
    """``"auto"``, ``"docker"`` or ``"local"``; ``None`` reads ``$RLVR_SANDBOX`` (default
    ``auto``)."""
    partial_credit: bool = False
    """When True a failing response scores its pass rate instead of 0."""
    retries: int = 2
    """Extra attempts when the sandbox is unavailable, before an ``error`` verdict."""
    max_cases: int = 1000
    """Most test cases one reference may hold."""
    compile_timeout_s: float = 30.0
    """Seconds allowed to compile a C/C++ program."""

    def __post_init__(self) -> None:
        for name in (
            "case_timeout_s",
            "memory_mb",
            "output_bytes",
            "max_cases",
            "compile_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"CodeConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if self.memory_mb < 64:
            raise ValueError(
                f"CodeConfig.memory_mb={self.memory_mb} is too small to start Python; use >= 64"
            )
        if self.sandbox is not None and self.sandbox not in SANDBOX_KINDS:
            raise ValueError(
                f"CodeConfig.sandbox must be one of {SANDBOX_KINDS} or None, got {self.sandbox!r}"
            )
        if self.retries < 0:
            raise ValueError(f"CodeConfig.retries must be >= 0, got {self.retries}")
