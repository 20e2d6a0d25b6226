"""Versioned verifiers for reinforcement learning with verifiable rewards.

The public surface is small: grade a response with a named, versioned verifier and get a
:class:`Verdict` that says what happened and where it came from.

>>> import verifiers
>>> v = verifiers.get("json_schema@1").verify('{"n": 3}', {"schema": {"type": "object"}})
>>> v.status.value, v.spec
('pass', 'json_schema@1')
"""

from .base import BaseVerifier, Outcome, Verifier
from .cache import MemoryCache, SqliteCache, VerdictCache
from .errors import (
    BadReferenceError,
    DuplicateVerifierError,
    InvalidSpecError,
    MissingDependencyError,
    UnknownVerifierError,
    UnknownVersionError,
    VerifierError,
)
from .executor import Executor, InlineExecutor, Job, ProcessPoolExecutor
from .grade_item import GradeItem
from .grading import grade, grade_batch, grade_iter
from .qa import VerifierCheckError, audit_verifier, check_verifier
from .registry import available, get, get_class, parse_spec, register, resolve, unregister
from .verdict import Reason, Status, Verdict

__all__ = [
    "BadReferenceError",
    "BaseVerifier",
    "DuplicateVerifierError",
    "Executor",
    "GradeItem",
    "InlineExecutor",
    "InvalidSpecError",
    "Job",
    "MemoryCache",
    "MissingDependencyError",
    "Outcome",
    "ProcessPoolExecutor",
    "RayExecutor",
    "Reason",
    "SqliteCache",
    "Status",
    "UnknownVerifierError",
    "UnknownVersionError",
    "Verdict",
    "VerdictCache",
    "Verifier",
    "VerifierCheckError",
    "VerifierError",
    "audit_verifier",
    "available",
    "check_verifier",
    "get",
    "get_class",
    "grade",
    "grade_batch",
    "grade_iter",
    "parse_spec",
    "register",
    "resolve",
    "unregister",
]


def __getattr__(name: str):
    """``RayExecutor`` is imported on first use, so ``import verifiers`` never imports Ray."""
    if name == "RayExecutor":
        from .ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
