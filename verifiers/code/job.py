"""Send one job to the sandbox: the trusted harness, the runner, a per-run secret; verify the
answer.

A pass can only come from a result line signed (HMAC-SHA256) with the secret generated here for
this run; the candidate program never has access to it (see :mod:`verifiers.code.harness`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sandbox.base import Limits, RunResult, Sandbox, StopReason
from .harness import MARK

HERE = Path(__file__).parent
HARNESS_COMMAND = ("python3", "-I", "-S", "harness.py")
HARNESS_MB = 64
"""Memory added to the sandbox run for the harness itself; the candidate gets
``CodeConfig.memory_mb``."""
DETAIL_KEYS = ("image", "image_digest", "isolation", "network_isolated")


@lru_cache(maxsize=1)
def harness_files() -> dict[str, str]:
    """The trusted files every run gets: the harness and the runner (wire codec + runner)."""
    runner = (HERE / "wire.py").read_text() + "\n\n" + (HERE / "runner.py").read_text()
    return {"harness.py": (HERE / "harness.py").read_text(), "runner.py": runner}


@dataclass(frozen=True)
class JobResult:
    """The harness's verified per-case results, or why there are none."""

    results: list[dict[str, Any]] | None
    run: RunResult
    problem: tuple[str, str] | None = None
    """``(code, message)`` when no verified results came back (for the verdict)."""
    infrastructure: bool = False
    """True when the problem is the grader's, not the program's (gives an ``error`` verdict)."""

    @property
    def details(self) -> dict[str, Any]:
        """Deterministic facts about the backend for the verdict."""
        facts = {"backend": self.run.backend}
        facts.update({k: self.run.details[k] for k in DETAIL_KEYS if k in self.run.details})
        return facts


def run_job(sandbox: Sandbox, job: dict[str, Any], n_cases: int, limits: Limits) -> JobResult:
    """Run ``job`` through the harness with a fresh secret and verify what comes back.

    :class:`~sandbox.errors.SandboxUnavailableError` propagates (the verifier retries and then
    reports an ``error`` verdict).
    """
    secret = secrets.token_bytes(32)
    files = dict(harness_files())
    files["job.json"] = json.dumps(job)
    files["secret"] = secret.hex()
    result = sandbox.run(list(HARNESS_COMMAND), files=files, limits=limits)
    return _verify(result, secret, n_cases, limits)


def _verify(result: RunResult, secret: bytes, n_cases: int, limits: Limits) -> JobResult:
    line = _harness_line(result.stdout)
    if line is not None:
        results = signed_results(line, secret)
        if isinstance(results, list) and len(results) == n_cases:
            return JobResult(results, result)
        return JobResult(None, result, UNSIGNED)
    return JobResult(None, result, *why_no_result(result, limits))


UNSIGNED = ("no_result", "the harness's result was missing or its signature did not verify")


def signed_results(line: str, secret: bytes) -> Any:
    """The ``results`` of a harness line whose HMAC verifies with ``secret``, else None."""
    try:
        envelope = json.loads(line)
        body, mac = envelope["body"], envelope["mac"]
        expected = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        if isinstance(mac, str) and hmac.compare_digest(mac, expected):
            return json.loads(body)["results"]
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def harness_line(stdout: bytes) -> str | None:
    """The last ``RLVR-HARNESS`` line of a run's stdout (without the mark), if any."""
    return _harness_line(stdout)


def _harness_line(stdout: bytes) -> str | None:
    text = stdout.decode("utf-8", "replace")
    for line in reversed(text.splitlines()):
        if line.startswith(MARK):
            return line[len(MARK) :]
    return None


def why_no_result(result: RunResult, limits: Limits) -> tuple[tuple[str, str], bool]:
    """``((code, message), infrastructure)`` for a run that printed no harness line."""
    if result.stop is StopReason.TIMEOUT:
        return ("timeout", f"the run did not finish within {limits.wall_s:g} s"), False
    if result.stop is StopReason.OUT_OF_MEMORY:
        return ("memory_limit", f"the run exceeded {limits.memory_mb} MB"), False
    if result.stop is StopReason.OUTPUT_LIMIT:
        return ("output_limit", "the run produced more output than allowed"), False
    if b'File "harness.py"' in result.stderr or b"can't open file" in result.stderr:
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return (
            "harness_crashed",
            f"the grading harness failed in the sandbox: {tail[0][:300]}",
        ), True
    return (
        "no_result",
        "the program stopped the grading harness before it reported (killed or exited it)",
    ), False
