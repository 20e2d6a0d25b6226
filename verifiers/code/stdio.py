"""stdin/stdout tests: each case a fresh process of the program; outputs compared in the grader."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sandbox.base import Limits, Sandbox

from ..base import Outcome
from ..errors import BadReferenceError
from .cases import CaseResult, from_harness, outcome
from .compare import compare_output
from .config import CodeConfig
from .job import HARNESS_MB, run_job

#: Per language: file name, compile command (or None), run command, least address space (MB).
#: ``{python}`` is the sandbox's Python; ``{heap}`` is half of the configured memory.
LANGUAGES = {
    "python": ("main.py", None, ["{python}", "-I", "main.py"], 0),
    "c": ("main.c", ["gcc", "-O2", "-std=gnu11", "-o", "prog", "main.c", "-lm"], ["./prog"], 0),
    "cpp": ("main.cpp", ["g++", "-O2", "-std=gnu++17", "-o", "prog", "main.cpp"], ["./prog"], 0),
    # V8 reserves ~1 GB of address space at start; its heap is bounded by --max-old-space-size
    # instead
    "javascript": ("main.js", None, ["node", "--max-old-space-size={heap}", "main.js"], 1024),
}


def cases_for(reference: Mapping[str, Any], config: CodeConfig) -> list[tuple[str, str]]:
    cases = reference.get("cases")
    if not isinstance(cases, list) or not cases:
        raise BadReferenceError(
            "'cases' must be a non-empty list of {\"input\": str, \"output\": str}"
        )
    if len(cases) > config.max_cases:
        raise BadReferenceError(
            f"{len(cases)} cases exceed CodeConfig.max_cases={config.max_cases}"
        )
    pairs = []
    for index, case in enumerate(cases):
        well_formed = isinstance(case, Mapping) and isinstance(case.get("input", ""), str)
        if not well_formed or not isinstance(case.get("output"), str):
            raise BadReferenceError(
                f"case {index + 1} must be {{\"input\": str, \"output\": str}}, got {case!r:.100}"
            )
        pairs.append((case.get("input", ""), case["output"]))
    return pairs


def check_stdio(
    program: str,
    language: str,
    cases: Sequence[tuple[str, str]],
    sandbox: Sandbox,
    config: CodeConfig,
) -> Outcome:
    """Run the program once per case and compare its stdout token by token."""
    filename, compile_cmd, run_cmd, least_mb = LANGUAGES[language]
    memory_mb = max(config.memory_mb, least_mb, 1024 if compile_cmd else 0)
    run_cmd = [part.replace("{heap}", str(max(config.memory_mb // 2, 64))) for part in run_cmd]
    job = {
        "mode": "stdio",
        "cases": [inp for inp, _ in cases],
        "run": run_cmd,
        "compile": compile_cmd,
        "compile_timeout_s": config.compile_timeout_s,
        "case_timeout_s": config.case_timeout_s,
        "memory_mb": memory_mb,
        "output_bytes": config.output_bytes,
        "program_file": filename,
        "program": program,
    }
    n = len(cases)
    limits = Limits(
        wall_s=config.case_timeout_s * n + (config.compile_timeout_s if compile_cmd else 0) + 10,
        memory_mb=memory_mb + HARNESS_MB,
        output_bytes=config.output_bytes * n + 1_000_000,
        pids=64,
    )
    done = run_job(sandbox, job, n, limits)
    if done.results is None:
        code, message = done.problem
        if done.infrastructure:
            return Outcome.error(code, message, language=language, **done.details)
        results = [CaseResult(code, message)] * n
    else:
        if any(r.get("status") == "toolchain_missing" for r in done.results):
            detail = next(
                r.get("detail", "") for r in done.results if r.get("status") == "toolchain_missing"
            )
            return Outcome.error(
                "toolchain_missing",
                f"the sandbox has no {language} toolchain: {detail}",
                language=language,
                **done.details,
            )
        results = [
            judge_case(record, expected) for record, (_, expected) in zip(done.results, cases)
        ]
    return outcome(results, partial_credit=config.partial_credit, language=language, **done.details)


def judge_case(record: Mapping[str, Any], expected: str) -> CaseResult:
    failure = from_harness(dict(record), "the program")
    if failure is not None:
        return failure
    comparison = compare_output(str(record.get("stdout", "")), expected)
    return CaseResult("pass") if comparison.ok else CaseResult("wrong_answer", comparison.message)
