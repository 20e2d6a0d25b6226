"""Assert-style Python tests (HumanEval / MBPP): plan in the grader, compute units in the
sandbox."""

from __future__ import annotations

import ast
from typing import Any, Mapping

from sandbox.base import Limits, Sandbox

from ..base import Outcome
from ..errors import BadReferenceError
from .asserts import TestPlan, plan_tests
from .cases import CaseResult, from_harness, outcome
from .config import CodeConfig
from .job import HARNESS_MB, run_job
from .wire import WireError, decode


def build_program(program: str, reference: Mapping[str, Any]) -> str:
    """Prefix ``reference["prompt"]`` when the program does not define ``entry_point`` itself."""
    prompt, entry = reference.get("prompt"), reference.get("entry_point")
    if not prompt or not entry:
        return program
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return prompt + program
    defined = {
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    return program if entry in defined else prompt + program


def tests_and_entry(reference: Mapping[str, Any]) -> tuple[str, str | None]:
    """The reference's ``tests`` and ``entry_point``, checked (a bad one is a
    :class:`BadReferenceError`)."""
    tests = reference.get("tests")
    if not isinstance(tests, str):
        raise BadReferenceError(
            "a python reference needs 'tests' (assert statements as a string) or 'cases'"
        )
    entry = reference.get("entry_point")
    if entry is not None and (not isinstance(entry, str) or not entry.isidentifier()):
        raise BadReferenceError(f"'entry_point' must be a Python identifier, got {entry!r}")
    return tests, entry


def plan_for(reference: Mapping[str, Any], config: CodeConfig) -> TestPlan:
    tests, entry = tests_and_entry(reference)
    plan = plan_tests(tests, entry_point=entry)
    if len(plan.cases) > config.max_cases:
        raise BadReferenceError(
            f"{len(plan.cases)} test cases exceed CodeConfig.max_cases={config.max_cases}"
        )
    return plan


def check_python(program: str, plan: TestPlan, sandbox: Sandbox, config: CodeConfig) -> Outcome:
    """Run ``plan``'s units against ``program`` and compare in the grader."""
    job = {
        "mode": "python",
        "code": program,
        "setup": list(plan.setup),
        "cases": [list(c.units) for c in plan.cases],
        "case_timeout_s": config.case_timeout_s,
        "memory_mb": config.memory_mb,
        "output_bytes": config.output_bytes,
    }
    n = len(plan.cases)
    limits = Limits(
        wall_s=config.case_timeout_s * (n + 1) + 10,
        memory_mb=config.memory_mb + HARNESS_MB,
        output_bytes=16_000_000,
        pids=64,
    )
    done = run_job(sandbox, job, n, limits)
    if done.results is None:
        code, message = done.problem
        if done.infrastructure:
            return Outcome.error(code, message, language="python", **done.details)
        cases = [CaseResult(code, message)] * n
    else:
        cases = [judge_case(case, record) for case, record in zip(plan.cases, done.results)]
    return outcome(cases, partial_credit=config.partial_credit, language="python", **done.details)


def judge_case(case, record: Mapping[str, Any]) -> CaseResult:
    """Compare one case's returned values in the grader."""
    failure = from_harness(dict(record), "the program")
    if failure is not None:
        return failure
    if record.get("status") == "error":
        return _error_result(record.get("error") or {})
    try:
        values = {f"__rlvr_u{i}": decode(v) for i, v in enumerate(record.get("values") or [])}
        if len(values) != len(case.units):
            raise WireError("wrong number of values")
    except (WireError, TypeError, ValueError, OverflowError, RecursionError):
        return CaseResult(
            "wrong_answer", f"`{_clip(case.source)}`: the returned value could not be decoded"
        )
    try:
        ok = case.check(values)
    except Exception as exc:  # comparing the returned values raised (e.g. TypeError)
        return CaseResult(
            "wrong_answer",
            f"`{_clip(case.source)}` raised {type(exc).__name__} on the returned values",
        )
    if ok:
        return CaseResult("pass")
    got = ", ".join(
        f"{u} returned {_clip(repr(values[f'__rlvr_u{i}']))}" for i, u in enumerate(case.units[:2])
    )
    return CaseResult(
        "wrong_answer",
        f"`{_clip(case.source)}` failed ({got})" if got else f"`{_clip(case.source)}` failed",
    )


def _error_result(error: Mapping[str, Any]) -> CaseResult:
    kind = str(error.get("type", "Error"))[:100]
    message = str(error.get("message", ""))[:200]
    if kind == "unsupported_value":
        return CaseResult("wrong_answer", message)
    if kind == "MemoryError":
        return CaseResult("memory_limit", "the program exceeded the memory limit")
    return CaseResult("runtime_error", f"{kind}: {message}" if message else kind)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
