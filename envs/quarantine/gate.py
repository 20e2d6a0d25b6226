"""The quarantine gate: where task data enters training, tasks that hit the isolation list are
refused or dropped, with a report naming each hit.

>>> import tempfile
>>> iso = IsolationList(tempfile.mkdtemp())
>>> _ = iso.add([{"id": "e1", "prompt": "What is 12 * 12?", "reference": {"answer": "144"}}],
...             name="eval")
>>> gate = QuarantineGate(iso, action="drop")
>>> kept, report = gate.apply(load_tasks([
...     {"id": "t1", "prompt": "what is 12*12", "reference": {"answer": "144"}},
...     {"id": "t2", "prompt": "What is 2 + 2?", "reference": {"answer": "4"}},
... ]))
>>> [t.id for t in kept], report.hit_ids
(['t2'], ('t1',))
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from ..errors import EnvConfigError, QuarantineError
from ..tasks import TaskList, load_tasks
from .isolation import IsolationList
from .report import QuarantineReport

ACTIONS = ("refuse", "drop")


class QuarantineGate:
    """Checks task lists against an isolation list and refuses (raises) or drops the hits.

    ``action="refuse"`` raises :class:`~envs.errors.QuarantineError` when any task hits; ``"drop"``
    removes hit tasks and keeps the report. A training source that *is* an isolated set is refused
    either way. Reports are cached per task list, so the copies of an environment check once.
    """

    def __init__(
        self, isolation: IsolationList | str | Path | None = None, action: str = "refuse"
    ) -> None:
        if action not in ACTIONS:
            raise EnvConfigError(f"quarantine action {action!r}: choose one of {ACTIONS}")
        self.isolation = (
            isolation if isinstance(isolation, IsolationList) else IsolationList(isolation)
        )
        self.action = action
        self._reports: dict[str, QuarantineReport] = {}
        self._lock = threading.Lock()

    def check(self, tasks: TaskList) -> QuarantineReport:
        """The report for ``tasks`` (computed once per task list: the copies of an environment share
        it)."""
        key = _identity(tasks)
        with self._lock:
            if key not in self._reports:
                self._reports[key] = self.isolation.check(tasks, action=self.action)
            return self._reports[key]

    def apply(self, tasks: TaskList) -> tuple[TaskList, QuarantineReport]:
        """``tasks`` without the hit tasks, and the report; raises when refusing or when nothing is
        left."""
        report = self.check(tasks)
        if report.same_as:
            raise QuarantineError(
                f"{tasks.name} is the isolated set {report.same_as!r} of {self.isolation.folder}: "
                "an evaluation set never takes part in training; train on another source, "
                f"or remove it from the list (rlvr quarantine remove {report.same_as})",
                report,
            )
        if report.clean:
            return tasks, report
        if self.action == "refuse":
            raise QuarantineError(
                f"{report.summary()}\nthese training tasks match isolated evaluation items; "
                "remove them from the source, or drop them (action='drop', "
                "rlvr train --on-contamination drop)",
                report,
            )
        hit = set(report.hit_ids)
        kept = [t for t in tasks if t.id not in hit]
        if not kept:
            raise QuarantineError(
                f"{report.summary()}\nevery task of {tasks.name} matches the isolation list; "
                "nothing is left to train on",
                report,
            )
        return TaskList(kept, name=tasks.name), report

    def __repr__(self) -> str:
        return f"QuarantineGate({str(self.isolation.folder)!r}, action={self.action!r})"


def _identity(tasks: TaskList) -> str:
    """A cheap key for a task list: its name, size and ids (copies of one source share it)."""
    digest = hashlib.blake2b(digest_size=16)
    for task in tasks:
        digest.update(task.id.encode("utf-8", "surrogatepass") + b"\0")
    return f"{tasks.name}|{len(tasks)}|{digest.hexdigest()}"


def as_gate(value: Any) -> QuarantineGate | None:
    """``None``, a gate, an :class:`IsolationList` or a folder path (refusing) -> a gate or
    ``None``."""
    if value is None or isinstance(value, QuarantineGate):
        return value
    if isinstance(value, (IsolationList, str, Path)):
        return QuarantineGate(value)
    raise EnvConfigError(
        "quarantine= takes a QuarantineGate, an IsolationList or a folder, "
        f"got {type(value).__name__}"
    )


def gate_tasks(tasks: Any, gate: Any) -> tuple[TaskList, QuarantineReport | None]:
    """Load ``tasks`` and pass them through ``gate`` (anything :func:`as_gate` takes; ``None``: no
    gate)."""
    task_list = tasks if isinstance(tasks, TaskList) else load_tasks(tasks)
    resolved = as_gate(gate)
    if resolved is None:
        return task_list, None
    return resolved.apply(task_list)
