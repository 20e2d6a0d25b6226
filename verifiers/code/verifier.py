"""The ``code@1`` verifier: run a program from the response against tests, in a sandbox."""

from __future__ import annotations

import atexit
import os
import time
from typing import Any, Mapping

from sandbox import resolve_kind
from sandbox.base import Sandbox
from sandbox.errors import SandboxUnavailableError

from ..base import BaseVerifier, Outcome
from ..errors import BadReferenceError
from ..registry import register
from .config import CodeConfig
from .extract import extract_program
from .python import build_program, check_python, plan_for
from .stdio import LANGUAGES, cases_for, check_stdio

RETRY_BACKOFF_S = 0.25
"""First pause before retrying an unavailable sandbox; doubled at each further attempt."""
SUPPORTED_LANGUAGES = ("python", "c", "cpp", "javascript")


def open_default_sandbox(kind: str) -> Sandbox:
    """``kind`` is auto | docker | local (:func:`sandbox.open_sandbox`)."""
    from sandbox import open_sandbox

    return open_sandbox(kind)


@register
class CodeVerifier(BaseVerifier):
    """Runs the program in the response against the reference's tests, in a sandbox.

    References (JSON objects):

    * assert tests: ``{"language": "python", "tests": "assert f(1) == 2\\n...",
      "entry_point": "f" (optional), "prompt": "def f(x):\\n" (optional prefix)}``;
    * stdin/stdout: ``{"language": "python"|"c"|"cpp"|"javascript", "cases": [{"input": "1 2\\n",
      "output": "3\\n"}]}``; C/C++ need gcc/g++ and JavaScript needs node in the sandbox (else an
      ``error`` verdict ``toolchain_missing``).

    The program is the last fenced block of the language, else the last untagged block, else
    the whole response (:mod:`verifiers.code.extract`). Each test case runs separately, so
    ``pass_rate`` is the fraction passed; a response passes when every case passes (score 1,
    or the pass rate with ``CodeConfig(partial_credit=True)``). ``failure_reason.code`` is one of
    ``syntax_error``, ``compile_error``, ``runtime_error`` (message names the exception type),
    ``wrong_answer``, ``timeout``, ``memory_limit``, ``output_limit``, ``no_result`` (the program
    stopped the harness); an unreachable sandbox gives an ``error`` verdict
    (``sandbox_unavailable``) after ``CodeConfig.retries`` retries, never a ``fail``.

    Why a pass cannot be faked: the candidate's exit code is ignored; values returned by the
    candidate's functions cross the boundary as plain data (:mod:`verifiers.code.wire`) and every
    comparison runs in the grader (:mod:`verifiers.code.asserts`); expected values never enter
    the sandbox; results count only when signed by the in-sandbox harness with a per-run secret
    the candidate cannot read (:mod:`verifiers.code.harness`).

    >>> v = CodeVerifier(CodeConfig(sandbox="local"))
    >>> response = "```python\\ndef f(x):\\n    return 2 * x\\n```"
    >>> v.verify(response, {"tests": "assert f(2) == 4"}).status.value
    'pass'

    Versions: 1 - first version (python asserts; stdio for python, c, cpp, javascript).
    """

    name = "code"
    version = 1
    description = "runs the response's program against assert or stdin/stdout tests in a sandbox"

    def __init__(self, config: CodeConfig | None = None, *, sandbox: Sandbox | None = None) -> None:
        self.config = config or CodeConfig()
        self._given = sandbox
        self._own: Sandbox | None = None
        self._pid = os.getpid()

    def sandbox(self) -> Sandbox:
        """The sandbox in use: the one given, else one opened per process from the config /
        $RLVR_SANDBOX."""
        if self._given is not None:
            return self._given
        kind = resolve_kind(self.config.sandbox)
        if getattr(self, "_unpickled", False):
            return _shared_sandbox(kind)
        if self._own is None or self._pid != os.getpid():
            self._own, self._pid = open_default_sandbox(kind), os.getpid()
        return self._own

    def close(self) -> None:
        """Close a sandbox this verifier opened itself."""
        self._drop_own()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled into worker processes without the sandbox: each process opens its own.

        The batch executor unpickles a fresh copy per item; copies share one sandbox per process
        and kind (:func:`_shared_sandbox`), so a warm pool is not started for every item.
        """
        state = dict(self.__dict__)
        state["_own"] = None
        state["_unpickled"] = True
        return state

    def _drop_own(self) -> None:
        if getattr(self, "_unpickled", False) and self._given is None:
            _drop_shared(resolve_kind(self.config.sandbox))
            return
        own, self._own = self._own, None
        if own is not None and self._pid == os.getpid():
            try:
                own.close()
            except Exception:  # a broken backend may fail to close; it is being dropped anyway
                pass

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        found = self._program(response, reference)
        if isinstance(found, Outcome):
            return found
        language, program = found
        if "cases" in reference:
            cases = cases_for(reference, self.config)
            if language == "python":
                syntax = _syntax_error(program)
                if syntax is not None:
                    return Outcome.failed("syntax_error", syntax, pass_rate=0.0, language=language)
            return self._guard(
                lambda: check_stdio(program, language, cases, self.sandbox(), self.config), language
            )
        if language != "python":
            raise BadReferenceError(
                f"assert-style 'tests' are Python only; give 'cases' for {language}"
            )
        plan = plan_for(reference, self.config)
        program = build_program(program, reference)
        syntax = _syntax_error(program)
        if syntax is not None:
            return Outcome.failed("syntax_error", syntax, pass_rate=0.0, language=language)
        return self._guard(
            lambda: check_python(program, plan, self.sandbox(), self.config), language
        )

    def _program(self, response: str, reference: Mapping[str, Any]) -> tuple[str, str] | Outcome:
        """``(language, program)`` taken from the response, or the ``unparseable`` outcome when it
        holds none."""
        language = reference.get("language", "python")
        if language not in SUPPORTED_LANGUAGES:
            raise BadReferenceError(
                f"language {language!r} is not supported by {self.name}@{self.version}; "
                f"use one of {SUPPORTED_LANGUAGES}"
            )
        program = extract_program(response, language)
        if not program.strip():
            return Outcome.unparseable(
                "no_code", "the response contains no program", language=language
            )
        return language, program

    def _guard(self, run, language: str) -> Outcome:
        """Run with bounded retries on infrastructure failure (opening or running the sandbox)."""
        for attempt in range(self.config.retries + 1):
            try:
                return run()
            except SandboxUnavailableError as exc:
                failure = exc
                self._drop_own()  # reopen a sandbox we opened ourselves (a given one is kept)
                if attempt < self.config.retries:
                    time.sleep(RETRY_BACKOFF_S * 2**attempt)
        message = f"{failure} (after {self.config.retries} retries)"
        return Outcome.error("sandbox_unavailable", message, language=language)


_SHARED: dict[tuple[int, str], Sandbox] = {}
"""Sandboxes of verifier copies unpickled in this process (one per kind), closed when the process
exits."""


def _shared_sandbox(kind: str) -> Sandbox:
    key = (os.getpid(), kind)
    box = _SHARED.get(key)
    if box is None:
        if not _SHARED:
            atexit.register(_close_shared)
        box = _SHARED[key] = open_default_sandbox(kind)
    return box


def _drop_shared(kind: str) -> None:
    box = _SHARED.pop((os.getpid(), kind), None)
    if box is not None:
        try:
            box.close()
        except Exception:  # a broken backend may fail to close; it is being dropped anyway
            pass


def _close_shared() -> None:
    for kind in [k for pid, k in list(_SHARED) if pid == os.getpid()]:
        _drop_shared(kind)


def _syntax_error(program: str) -> str | None:
    try:
        compile(program, "solution.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # e.g. null bytes
        return f"invalid source: {exc}"
    return None


__all__ = ["CodeVerifier", "LANGUAGES"]
