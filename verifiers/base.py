"""The :class:`Verifier` protocol and :class:`BaseVerifier`, the easy way to write one.

A verifier turns ``(response, reference)`` into a :class:`~verifiers.Verdict`. Subclasses of
:class:`BaseVerifier` only implement :meth:`BaseVerifier.check`, which returns an
:class:`Outcome`; provenance (name, version, hashes, elapsed time) is stamped on by the base
class so it can never be forgotten, and any exception becomes an ``error`` verdict instead of
killing a batch.

>>> from verifiers.base import BaseVerifier, Outcome
>>> class Exact(BaseVerifier):
...     '''Exact string match. Versions: 1 - first version.'''
...     name, version, description = "exact_doc", 1, "exact string match"
...     def check(self, response, reference):
...         if response.strip() == reference["answer"]:
...             return Outcome.passed()
...         return Outcome.failed("wrong_answer", "not equal")
>>> Exact().verify(" 4 ", {"answer": "4"}).status.value
'pass'
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from .errors import BadReferenceError
from .hashing import stable_hash
from .verdict import Reason, Status, Verdict


@runtime_checkable
class Verifier(Protocol):
    """What the registry, batch grader and environments need from a verifier."""

    name: ClassVar[str]
    version: ClassVar[int]
    description: ClassVar[str]

    def verify(self, response: str, reference: Mapping[str, Any]) -> Verdict:
        """Grade ``response`` against ``reference``; never raises for bad model output."""
        ...

    def test_case_hash(self, reference: Mapping[str, Any]) -> str:
        """Stable hash of the test material in ``reference``."""
        ...


@dataclass(frozen=True)
class Outcome:
    """A verifier's judgement before provenance is stamped on. Build it with the class methods."""

    status: Status
    score: float
    pass_rate: float | None = None
    reason: Reason | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(
        cls, *, score: float = 1.0, pass_rate: float | None = None, **details: Any
    ) -> "Outcome":
        return cls(Status.PASS, score, pass_rate, None, details)

    @classmethod
    def failed(
        cls,
        code: str,
        message: str = "",
        *,
        score: float = 0.0,
        pass_rate: float | None = None,
        **details: Any,
    ) -> "Outcome":
        return cls(Status.FAIL, score, pass_rate, Reason(code, message), details)

    @classmethod
    def unparseable(cls, code: str, message: str = "", **details: Any) -> "Outcome":
        return cls(Status.UNPARSEABLE, 0.0, None, Reason(code, message), details)

    @classmethod
    def timeout(cls, message: str = "", *, code: str = "timeout", **details: Any) -> "Outcome":
        return cls(Status.TIMEOUT, 0.0, None, Reason(code, message), details)

    @classmethod
    def error(cls, code: str, message: str = "", **details: Any) -> "Outcome":
        return cls(Status.ERROR, 0.0, None, Reason(code, message), details)


class BaseVerifier:
    """Base class: implement :meth:`check`; optionally override :meth:`test_case_hash`.

    Class attributes ``name``, ``version`` and ``description`` identify the verifier; register
    the class with :func:`verifiers.register`. A verifier's docstring ends with its version history.
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 0
    description: ClassVar[str] = ""

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:  # pragma: no cover
        raise NotImplementedError

    def test_case_hash(self, reference: Mapping[str, Any]) -> str:
        return stable_hash(reference)

    def verify(self, response: str, reference: Mapping[str, Any]) -> Verdict:
        """Grade one response. Bad output gives a verdict; a bad reference gives an ``error``
        verdict."""
        start = time.perf_counter()
        if not isinstance(response, str):
            outcome = Outcome.error(
                "bad_response_type", f"response must be str, got {type(response).__name__}"
            )
        else:
            outcome = self._safe_check(response, reference)
        return self.stamp(outcome, response, reference, time.perf_counter() - start)

    def stamp(self, outcome: Outcome, response: Any, reference: Any, elapsed_s: float) -> Verdict:
        """Turn an :class:`Outcome` into a :class:`Verdict` carrying this verifier's provenance."""
        return stamp(self, outcome, response, reference, elapsed_s)

    def _safe_check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        if not isinstance(reference, Mapping):
            return Outcome.error(
                "bad_reference", f"reference must be a JSON object, got {type(reference).__name__}"
            )
        try:
            return self.check(response, reference)
        except BadReferenceError as exc:
            return Outcome.error("bad_reference", str(exc))
        except RecursionError:
            return Outcome.unparseable("too_deep", "input nests too deeply to be checked")
        except MemoryError:
            return Outcome.error("out_of_memory", "the grader ran out of memory on this input")
        except Exception as exc:  # a verifier bug must not kill a batch
            tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return Outcome.error(
                "verifier_crashed", f"{self.name}@{self.version} raised {tail[:500]}"
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}@{self.version}>"


def stamp(
    verifier: Any, outcome: Outcome, response: Any, reference: Any, elapsed_s: float
) -> Verdict:
    """Build the :class:`Verdict` for ``outcome`` with the provenance of ``verifier``.

    ``verifier`` is anything with ``name``, ``version`` and ``test_case_hash`` (a registered
    verifier), so the batch grader can stamp ``timeout`` and ``error`` verdicts itself.
    """
    return Verdict(
        status=outcome.status,
        score=outcome.score,
        pass_rate=outcome.pass_rate,
        failure_reason=outcome.reason,
        verifier=verifier.name,
        verifier_version=verifier.version,
        test_case_hash=safe_hash(verifier.test_case_hash, reference),
        input_hash=safe_hash(
            stable_hash, response if isinstance(response, str) else repr(response)
        ),
        elapsed_s=round(elapsed_s, 6),
        details=dict(outcome.details),
    )


def error_verdict(
    code: str,
    message: str,
    *,
    verifier: str = "",
    version: int = 0,
    response: Any = None,
    reference: Any = None,
    elapsed_s: float = 0.0,
) -> Verdict:
    """An ``error`` verdict for an item that never reached a verifier (bad line, unknown name)."""
    return Verdict(
        status=Status.ERROR,
        score=0.0,
        failure_reason=Reason(code, message),
        verifier=verifier,
        verifier_version=version,
        test_case_hash=safe_hash(stable_hash, reference),
        input_hash=safe_hash(
            stable_hash, response if isinstance(response, str) else repr(response)
        ),
        elapsed_s=round(elapsed_s, 6),
    )


def safe_hash(hasher, value: Any) -> str:
    """Hash ``value``; input too deep or strange to hash (or a hasher that fails on it, such as a
    verifier's ``test_case_hash`` given a reference that is not an object) gets a marker instead of
    an exception."""
    try:
        return hasher(value)
    except Exception as exc:  # a hash is provenance: it must never cost the verdict
        return f"unhashable:{type(exc).__name__}"
