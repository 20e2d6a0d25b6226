"""Per-test-case results and how they add up to one verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..base import Outcome

#: Failure codes a case (and so a ``code@1`` verdict) can carry.
FAILURE_CODES = (
    "syntax_error",
    "compile_error",
    "runtime_error",
    "wrong_answer",
    "timeout",
    "memory_limit",
    "output_limit",
    "no_result",
)


@dataclass(frozen=True)
class CaseResult:
    """One test case: ``code`` is ``"pass"`` or one of :data:`FAILURE_CODES`."""

    code: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.code == "pass"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message} if self.message else {"code": self.code}


def from_harness(record: dict[str, Any], what: str) -> CaseResult | None:
    """Map a harness record that is not an observed value/output to a failure (``None`` if it
    is)."""
    status = record.get("status")
    detail = str(record.get("detail") or "")[:300]
    at_load = " while loading the program" if record.get("at_load") else ""
    if status == "timeout":
        return CaseResult("timeout", f"{what} did not finish in time{at_load}")
    if status == "memory":
        return CaseResult("memory_limit", f"{what} exceeded the memory limit{at_load}")
    if status == "output_limit":
        return CaseResult("output_limit", f"{what} produced more output than allowed{at_load}")
    if status == "load_error":
        error = record.get("error") or {}
        kind = str(error.get("type", "Error"))[:100]
        if kind == "MemoryError":
            return CaseResult("memory_limit", "the program exceeded the memory limit while loading")
        return CaseResult(
            "runtime_error",
            f"{kind} while loading the program: {str(error.get('message', ''))[:200]}",
        )
    if status == "crashed":
        if "signal" in record:
            return CaseResult(
                "runtime_error", f"{what} was killed by signal {record['signal']}{at_load}"
            )
        how = f": {detail}" if detail else ""
        return CaseResult(
            "runtime_error", f"{what} exited with code {record.get('exit')}{at_load}{how}"
        )
    if status == "compile_error":
        return CaseResult("compile_error", detail)
    return None


def outcome(cases: Sequence[CaseResult], *, partial_credit: bool, **details: Any) -> Outcome:
    """All cases pass -> pass; otherwise fail with the first failing case's code."""
    passed = sum(c.passed for c in cases)
    rate = passed / len(cases)
    info = dict(details, passed=passed, total=len(cases), cases=[c.to_dict() for c in cases])
    if passed == len(cases):
        return Outcome.passed(pass_rate=rate, **info)
    first_index, first = next((i, c) for i, c in enumerate(cases) if not c.passed)
    message = f"{passed}/{len(cases)} test cases passed; case {first_index + 1}: {first.message}"
    return Outcome.failed(
        first.code, message[:1000], score=rate if partial_credit else 0.0, pass_rate=rate, **info
    )
