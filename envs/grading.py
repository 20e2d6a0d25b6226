"""How an environment grades: a pinned verifier and a bounded, injectable executor.

A :class:`Grader` sends every completion through :func:`verifiers.grade_batch` with an executor,
so a hostile completion (a regex bomb, a hanging program) costs at most ``timeout_s`` and never
hangs the environment. The executor is created lazily (a one-worker
:class:`verifiers.ProcessPoolExecutor`) and closed by :meth:`Grader.close`; pass your own to share
one pool across the G copies of a group or the sub-environments of a vector env (it is then
never closed here).

>>> from verifiers import InlineExecutor
>>> grader = Grader("json_schema@1", executor=InlineExecutor())
>>> grader.grade('{"a": 1}', {"schema": {"type": "object"}}).status.value
'pass'
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Mapping, Sequence

import verifiers
from verifiers import Executor, GradeItem, ProcessPoolExecutor, Verdict

from .errors import EnvConfigError


def pin_verifier(spec: str) -> str:
    """Check that ``spec`` names an exact, registered ``name@version``; returns it canonical.

    >>> pin_verifier("json_schema@1")
    'json_schema@1'
    """
    name, version = verifiers.parse_spec(spec)
    if version is None:
        raise EnvConfigError(
            f"environment verifier {spec!r} must pin a version, e.g. '{name}@1': "
            "changing the verifier is a new environment version"
        )
    return verifiers.registry.format_spec(name, version)


def check_available(spec: str) -> None:
    """Raise :class:`EnvConfigError` when ``spec`` is not registered (e.g. its package failed to
    import)."""
    try:
        verifiers.resolve(spec)
    except verifiers.VerifierError as exc:
        raise EnvConfigError(
            f"this environment pins verifier {spec}, which is not available: {exc}"
        ) from None


class Grader:
    """Grades completions with one pinned verifier through a bounded executor.

    Args:
        spec: exact ``name@version`` of the verifier.
        executor: executor to use (not closed here); default: a lazily created one-worker process
            pool.
        timeout_s: per-completion bound for the default executor.
    """

    def __init__(
        self, spec: str, *, executor: Executor | None = None, timeout_s: float = 30.0
    ) -> None:
        self.spec = pin_verifier(spec)
        check_available(self.spec)
        if timeout_s <= 0:
            raise EnvConfigError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self._executor = executor
        self._owned = executor is None

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            if multiprocessing.current_process().daemon:
                raise EnvConfigError(
                    "this environment runs in a daemonic process (gymnasium's AsyncVectorEnv "
                    "default), which cannot start grading workers; use gymnasium.make_vec(..., "
                    "vectorization_mode='async', vector_kwargs={'daemon': False, 'shared_memory': "
                    "False}) or the 'sync' mode"
                )
            self._executor = ProcessPoolExecutor(1, timeout_s=self.timeout_s)
        return self._executor

    def grade(
        self, response: str, reference: Mapping[str, Any], spec: str | None = None
    ) -> Verdict:
        """One verdict for ``response``."""
        return self.grade_many([response], reference, spec)[0]

    def grade_many(
        self, responses: Sequence[str], reference: Mapping[str, Any], spec: str | None = None
    ) -> list[Verdict]:
        """Verdicts for several responses to one reference, in order, in one batch call."""
        items = [
            GradeItem(response, reference, spec or self.spec, index)
            for index, response in enumerate(responses)
        ]
        return verifiers.grade_batch(items, executor=self.executor)

    def grade_items(self, items: Sequence[GradeItem]) -> list[Verdict]:
        """Verdicts for arbitrary items (several verifiers), in order, in one batch call."""
        return verifiers.grade_batch(items, executor=self.executor)

    def close(self) -> None:
        """Close the executor if this grader created it; safe to call twice."""
        if self._owned and self._executor is not None:
            self._executor.close()
            self._executor = None
