"""The :class:`Verdict` record: what a verifier says about one response, and where it came from.

A verdict is never a bare bool. ``status`` tells *why* the score is what it is:

======================  ==========================================================
``pass``                the response is correct (score is usually 1)
``fail``                the response was checked and is wrong (or partly right)
``unparseable``         no answer could be extracted from the response
``timeout``             checking did not finish within its bound
``error``               the grader could not do its job (bad reference, sandbox down,
                        crashed worker): this is *not* a judgement of the response
======================  ==========================================================

Example:

>>> v = Verdict(status=Status.PASS, score=1.0, verifier="json_schema", verifier_version=1,
...             test_case_hash="sha256:ab", input_hash="sha256:cd")
>>> v.passed, v.spec
(True, 'json_schema@1')
>>> Verdict.from_dict(v.to_dict()) == v
True
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping


class Status(str, Enum):
    """Outcome class of a verdict. ``ERROR`` and ``TIMEOUT`` mean "could not judge", never
    "wrong"."""

    PASS = "pass"
    FAIL = "fail"
    UNPARSEABLE = "unparseable"
    TIMEOUT = "timeout"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    @property
    def judged(self) -> bool:
        """True when the response itself was judged (pass, fail, unparseable)."""
        return self in (Status.PASS, Status.FAIL, Status.UNPARSEABLE)


@dataclass(frozen=True)
class Reason:
    """Why a verdict is not a pass: a machine-readable ``code`` and a human ``message``.

    >>> Reason("wrong_answer", "expected 4, got 5").to_dict()
    {'code': 'wrong_answer', 'message': 'expected 4, got 5'}
    """

    code: str
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Reason | None":
        if data is None:
            return None
        return cls(code=str(data.get("code", "")), message=str(data.get("message", "")))


@dataclass(frozen=True)
class Verdict:
    """Immutable, JSON-serialisable result of grading one response.

    Deterministic for a given verifier version and input, apart from ``elapsed_s``.
    """

    status: Status
    """pass | fail | unparseable | timeout | error."""
    score: float
    """Reward in [0, 1]."""
    verifier: str
    """Name of the verifier that produced this verdict."""
    verifier_version: int
    """Integer behaviour version of that verifier."""
    test_case_hash: str
    """Stable hash of the reference / test material."""
    input_hash: str
    """Stable hash of the response text."""
    pass_rate: float | None = None
    """Fraction of checks passed, where the verifier runs several (unit tests, assertions)."""
    failure_reason: Reason | None = None
    """Why this is not a pass; ``None`` for a pass."""
    elapsed_s: float = 0.0
    """Wall-clock seconds spent grading (excluded from equality for determinism checks)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Verifier-specific, JSON-serialisable details (extracted answer, violations, image tag...)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        if not 0.0 <= float(self.score) <= 1.0:
            raise ValueError(f"score must lie in [0, 1], got {self.score!r}")
        object.__setattr__(self, "score", float(self.score))

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    @property
    def spec(self) -> str:
        """``"name@version"`` of the verifier that produced this verdict."""
        return f"{self.verifier}@{self.verifier_version}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; the inverse of :meth:`from_dict`."""
        return {
            "status": self.status.value,
            "score": self.score,
            "pass_rate": self.pass_rate,
            "failure_reason": None
            if self.failure_reason is None
            else self.failure_reason.to_dict(),
            "verifier": self.verifier,
            "verifier_version": self.verifier_version,
            "test_case_hash": self.test_case_hash,
            "input_hash": self.input_hash,
            "elapsed_s": self.elapsed_s,
            "details": dict(self.details),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Verdict":
        return cls(
            status=Status(data["status"]),
            score=data["score"],
            pass_rate=data.get("pass_rate"),
            failure_reason=Reason.from_dict(data.get("failure_reason")),
            verifier=data["verifier"],
            verifier_version=int(data["verifier_version"]),
            test_case_hash=data["test_case_hash"],
            input_hash=data["input_hash"],
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            details=dict(data.get("details") or {}),
        )

    def identity(self) -> dict[str, Any]:
        """Everything but ``elapsed_s``: equal for equal input and verifier version."""
        data = self.to_dict()
        data.pop("elapsed_s")
        return data

    def replace(self, **changes: Any) -> "Verdict":
        """A copy with ``changes`` applied (checked like a new verdict)."""
        unknown = changes.keys() - _FIELDS
        if unknown:
            raise TypeError(f"Verdict has no field(s) {sorted(unknown)}; fields: {sorted(_FIELDS)}")
        # cheaper than dataclasses.replace: environments call it per step
        new = object.__new__(Verdict)
        new.__dict__.update(self.__dict__, **changes)
        new.__post_init__()
        return new


_FIELDS = frozenset(f.name for f in dataclasses.fields(Verdict))
