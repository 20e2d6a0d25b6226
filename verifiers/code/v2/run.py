"""One ``code@2`` verification in the sandbox: send the files, verify the signed report, judge.

The sandbox gets the harness (wire codec, candidate client, proxies, recorder, test process,
harness in one file), the candidate runner (wire codec + runner), ``candidate.json`` (program,
``test_setup_code``, limits), ``tests.json`` (the rewritten tests) and a fresh secret. A result
counts only when its HMAC verifies; the grader turns the per-case outcomes into the verdict.
"""

from __future__ import annotations

import json
import marshal
import secrets
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from sandbox.base import Limits, Sandbox

from ...base import Outcome
from ...errors import BadReferenceError
from ..cases import FAILURE_CODES, CaseResult, outcome
from ..config import CodeConfig
from ..job import DETAIL_KEYS, UNSIGNED, harness_line, signed_results, why_no_result
from .plan import TestProgram

HERE = Path(__file__).parent
HARNESS_COMMAND = ("python3", "harness.py")
"""Plain ``python3 FILE.py``, so the Docker backend's zygote can skip the interpreter's start-up;
the loader (:data:`LOADER`) removes the workspace and site-packages from ``sys.path`` itself."""
HARNESS_PARTS = ("wire.py", "client.py", "remote.py", "recorder.py", "testside.py", "harness.py")
RUNNER_PARTS = ("wire.py", "candidate.py")
HARNESS_MB = 192
"""Memory added to the sandbox run for the harness and the test process; the candidate gets
``CodeConfig.memory_mb``."""


# one program's text, split in two places only to keep the source lines under 100 characters
LOADER = (
    '''"""Loads the precompiled code@2 {part} (grader bytecode when this Python matches, else '''
    '''the source).

Imports never come from the workspace (the candidate can write there) or from site-packages.
"""
import marshal
import os
import sys

_WORKSPACE = (os.path.dirname(os.path.abspath(sys.argv[0] or ".")), os.getcwd())
sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) not in _WORKSPACE'''
    ''' and "-packages" not in p]


def load_code(part):
    if sys.implementation.cache_tag == {tag!r}:
        try:
            with open(part + ".bin", "rb") as fh:
                return marshal.loads(fh.read())
        except (OSError, ValueError, EOFError, TypeError):
            pass
    with open(part + ".src", "rb") as fh:
        return compile(fh.read(), {filename!r}, "exec", dont_inherit=True, optimize=2)


exec(load_code({part!r}))
'''
)


@lru_cache(maxsize=1)
def sandbox_files() -> dict[str, str | bytes]:
    """The trusted harness and the candidate runner: each several modules in one, as source and as
    bytecode.

    Compiling them costs ~13 ms per run, more than the rest of a short run; the loaders
    (``harness.py``, ``candidate_runner.py``) use the grader's bytecode when the sandbox's Python
    has the same cache tag (bytecode version) and compile the source otherwise.
    """
    files: dict[str, str | bytes] = {}
    for part, filename, parts in (
        ("harness", "harness.py", HARNESS_PARTS),
        ("candidate", "candidate_runner.py", RUNNER_PARTS),
    ):
        source = "\n\n".join((HERE / name).read_text() for name in parts)
        code = compile(source, filename, "exec", dont_inherit=True, optimize=2)
        files[filename] = LOADER.format(
            part=part, tag=sys.implementation.cache_tag, filename=filename
        )
        files[part + ".src"] = source
        files[part + ".bin"] = marshal.dumps(code)
    return files


def wall_seconds(program: TestProgram, config: CodeConfig) -> float:
    """The harness's own deadline; the sandbox allows 10 s more so that a late report is still
    signed."""
    return config.case_timeout_s * (len(program.cases) + 2) + 5


def run_program(program: str, tests: TestProgram, sandbox: Sandbox, config: CodeConfig) -> Outcome:
    """Run the tests against ``program`` in ``sandbox`` and judge the signed report."""
    secret = secrets.token_bytes(32)
    wall = wall_seconds(tests, config)
    candidate = {
        "code": program,
        "setup": tests.setup,
        "memory_mb": config.memory_mb,
        "timeout_s": config.case_timeout_s,
        "output_bytes": config.output_bytes,
        "wall_s": wall,
    }
    files = dict(sandbox_files())
    files.update(
        {
            "candidate.json": json.dumps(candidate),
            "tests.json": tests.job_text,
            "secret": secret.hex(),
        }
    )
    limits = Limits(
        wall_s=wall + 10, memory_mb=config.memory_mb + HARNESS_MB, output_bytes=16_000_000, pids=64
    )
    result = sandbox.run(list(HARNESS_COMMAND), files=files, limits=limits)
    details = {
        "backend": result.backend,
        **{k: result.details[k] for k in DETAIL_KEYS if k in result.details},
    }
    line = harness_line(result.stdout)
    if line is None:
        (code, message), infrastructure = why_no_result(result, limits)
        if infrastructure:
            return Outcome.error(code, message, language="python", **details)
        return outcome(
            [CaseResult(code, message)] * len(tests.cases),
            partial_credit=config.partial_credit,
            language="python",
            **details,
        )
    report = signed_results(line, secret)
    if not isinstance(report, Mapping):
        return outcome(
            [CaseResult(*UNSIGNED)] * len(tests.cases),
            partial_credit=config.partial_credit,
            language="python",
            **details,
        )
    return judge(report, tests, config, details)


def judge(
    report: Mapping[str, Any], tests: TestProgram, config: CodeConfig, details: dict[str, Any]
) -> Outcome:
    """The verdict for a verified report ``{"last": <test process's last record>, "stop": ...}``."""
    last = report.get("last") if isinstance(report.get("last"), Mapping) else {}
    if "internal" in last:
        return Outcome.error(
            "harness_crashed",
            f"the grading harness failed in the sandbox: {str(last['internal'])[-500:]}",
            language="python",
            **details,
        )
    if "reference" in last:
        raise BadReferenceError(str(last["reference"])[:500])
    if "shadowed" in last:
        details["shadowed"] = [str(n)[:100] for n in last["shadowed"]][:50]
    cases = [
        _case(entry, case, report.get("stop"), config)
        for entry, case in zip(_entries(last, len(tests.cases)), tests.cases)
    ]
    return outcome(cases, partial_credit=config.partial_credit, language="python", **details)


def _entries(last: Mapping[str, Any], n: int) -> list[Any]:
    if isinstance(last.get("load"), list) and len(last["load"]) == 2:
        return [["load"] + list(last["load"])] * n
    entries = last.get("cases")
    return list(entries) if isinstance(entries, list) and len(entries) == n else [None] * n


def _case(entry: Any, case, stop: Any, config: CodeConfig) -> CaseResult:
    if entry is None or not isinstance(entry, list) or len(entry) < 2:
        if stop == "timeout":
            return CaseResult(
                "timeout", f"`{case.source}` (line {case.line}): the tests did not finish in time"
            )
        return CaseResult(
            "no_result",
            f"`{case.source}` (line {case.line}): the test process stopped before it "
            "reported (the program killed or stopped it)",
        )
    if entry[0] == "load":
        code, message = str(entry[1]), str(entry[2])[:300]
        return CaseResult(code if code in FAILURE_CODES else "runtime_error", message)
    code, detail = str(entry[0]), str(entry[1])[:400]
    if code == "pass":
        return CaseResult("pass")
    code = code if code in FAILURE_CODES else "runtime_error"
    joiner = (
        " failed: "
        if code == "wrong_answer" and not detail.startswith(("never", "not reached"))
        else ": "
    )
    return CaseResult(code, f"`{case.source}` (line {case.line}){joiner}{detail}")
