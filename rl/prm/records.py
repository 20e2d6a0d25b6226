"""Frozen records of the PRM store: problems, trajectories, steps, label events, resolved labels.

A process reward sample is a *step*: a character span into a trajectory's raw text, which is
never rewritten. Labels are append-only :class:`LabelEvent` s; the current label of a step is
derived from them (see :mod:`rl.prm.resolve`).

>>> ev = LabelEvent(step_id=1, value=-1, annotator_kind="human", annotator_id="alice",
...                 error_type="arithmetic_slip")
>>> ev.ternary
-1
>>> LabelEvent(step_id=1, value=0.75, value_kind="soft", annotator_kind="monte_carlo",
...            annotator_id="hf:tiny", rollouts=4, solved=3).ternary
1
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from verifiers import Status

from .errors import LabelValueError

#: Who produced a label. ``human`` outranks the others in :mod:`rl.prm.resolve`.
ANNOTATOR_KINDS = ("human", "verifier", "model_judge", "monte_carlo")

#: How a label's ``value`` is to be read.
VALUE_KINDS = ("ternary", "boolean", "soft")

#: Error types with an agreed meaning; any other snake_case name is accepted as a custom type.
ERROR_TYPES = (
    "algebra_error",
    "omitted_condition",
    "arithmetic_slip",
    "wrong_final_value",
    "logic_error",
    "unjustified_claim",
    "other",
)

_SNAKE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """A problem statement with its gold answer and provenance."""

    text: str
    """The problem as shown to the model."""
    gold_answer: str | None = None
    """Reference final answer (graded with ``math@2`` by default)."""
    source: str | None = None
    """Dataset the problem came from, e.g. ``"MATH"``, ``"PRM800K"``."""
    licence: str | None = None
    """Licence of the source dataset, e.g. ``"MIT"``."""
    hash: str = ""
    """Content hash (natural key); filled by the store."""
    id: int | None = None
    """Row id in the store."""


@dataclass(frozen=True)
class Trajectory:
    """One generated solution: the raw completion (immutable) and how it was produced."""

    problem_id: int
    """The problem this solves."""
    raw_text: str
    """The completion exactly as generated; steps are spans into it."""
    generator: str = "unknown"
    """Model (or dataset) that produced the text."""
    sampling: Mapping[str, Any] = field(default_factory=dict)
    """Sampling parameters used (temperature, top_p, seed, ...)."""
    final_answer: str | None = None
    """Final answer extracted from the text, if known."""
    parent_id: int | None = None
    """For an alternative step (PRM800K): the trajectory it branches from."""
    branch_step: int | None = None
    """For an alternative step: index of the step that differs from the parent."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Source metadata (labeler, finish reason, total time, ...)."""
    hash: str = ""
    """hash(problem hash, raw text, generator); filled by the store."""
    id: int | None = None
    """Row id in the store."""


@dataclass(frozen=True)
class Step:
    """A step of a trajectory under one segmentation: a character span ``[start, end)`` of the raw
    text."""

    id: int
    """Row id (label events point at it)."""
    segmentation_id: int
    """The segmentation (method@version) this step belongs to."""
    index: int
    """0-based position of the step in the trajectory."""
    start: int
    """First character of the step in the raw text."""
    end: int
    """One past the last character."""
    text: str = ""
    """``raw_text[start:end]``, filled when read with the trajectory."""


@dataclass(frozen=True)
class LabelEvent:
    """One append-only judgement of one step by one annotator. Never updated, never deleted."""

    step_id: int
    """The labelled step."""
    value: float
    """ternary: -1/0/+1; boolean: 0/1; soft: fraction in [0, 1] (Monte-Carlo: solved / rollouts)."""
    annotator_kind: str
    """One of :data:`ANNOTATOR_KINDS`."""
    annotator_id: str
    """Who: a labeler id, a judge model, ``engine:model`` for Monte-Carlo, a verifier spec."""
    value_kind: str = "ternary"
    """One of :data:`VALUE_KINDS`."""
    rationale: str | None = None
    """Free-text reason."""
    error_type: str | None = None
    """Kind of mistake (see :data:`ERROR_TYPES`), for negative labels."""
    rollouts: int | None = None
    """Monte-Carlo: continuations graded."""
    solved: int | None = None
    """Monte-Carlo: continuations whose final answer was right."""
    created_at: str | None = None
    """ISO-8601 UTC time; the store fills it when absent."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Extra facts (flagged, engine sampling parameters, source line, ...)."""
    dedupe_key: int | None = None
    """Set by importers so that importing the same line twice adds nothing."""
    id: int | None = None
    """Row id (append order)."""

    def __post_init__(self) -> None:
        check_label(self.value, self.value_kind, self.annotator_kind, self.rollouts, self.solved)
        if not self.annotator_id:
            raise LabelValueError("LabelEvent.annotator_id is empty; say who labelled the step")
        if self.error_type is not None and not _SNAKE.match(self.error_type):
            raise LabelValueError(
                f"error_type {self.error_type!r} must be snake_case, e.g. one of {ERROR_TYPES}"
            )

    @property
    def ternary(self) -> int:
        """The label as -1/0/+1 (boolean false and a soft value of 0 read as -1)."""
        return to_ternary(self.value, self.value_kind)


@dataclass(frozen=True)
class CurrentLabel:
    """The resolved label of a step (see :mod:`rl.prm.resolve` for the rule)."""

    step_id: int
    """The step."""
    value: int
    """-1 (wrong), 0 (neutral), +1 (right)."""
    soft: float | None
    """Monte-Carlo estimate when the deciding kind was ``monte_carlo``, else ``None``."""
    annotator_kind: str
    """The annotator kind whose labels decided."""
    n_events: int
    """Events on the step, all kinds."""
    n_annotators: int
    """Distinct annotators of the deciding kind."""
    disagreement: bool
    """True when annotators' latest labels (any kind) map to different ternary values."""


@dataclass(frozen=True)
class FinalVerdict:
    """The graded final answer of a trajectory by one verifier version.

    >>> verdict = FinalVerdict(trajectory_id=1, verifier="math@2", status="fail", score=0.0)
    >>> verdict.status is Status.FAIL, verdict.status == "fail", verdict.status.judged
    (True, True, True)
    """

    trajectory_id: int
    """The trajectory graded."""
    verifier: str
    """``name@version`` that graded it (or e.g. ``prm800k:finish_reason`` for a source's own
    verdict)."""
    status: Status
    """Verdict status: pass | fail | unparseable | timeout | error. Its string value (``"pass"``)
    is accepted too, and is what the store keeps."""
    score: float | None = None
    """Verdict score."""
    final_answer: str | None = None
    """The answer that was graded."""
    created_at: str | None = None
    """When it was recorded."""

    def __post_init__(self) -> None:
        if type(self.status) is not Status:
            object.__setattr__(self, "status", to_status(self.status))


def to_status(value: object) -> Status:
    """A verdict status from a :class:`verifiers.Status` or its string value.

    >>> to_status("pass"), to_status(Status.TIMEOUT)
    (<Status.PASS: 'pass'>, <Status.TIMEOUT: 'timeout'>)
    """
    if isinstance(value, Status):
        return value
    try:
        return Status(str(value))
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise LabelValueError(
            f"verdict status {value!r} is not one of {choices} (a verifiers.Status or its value)"
        ) from None


def check_label(
    value: float,
    value_kind: str,
    annotator_kind: str,
    rollouts: int | None = None,
    solved: int | None = None,
) -> None:
    """Raise :class:`LabelValueError` unless the value fits its kind."""
    if annotator_kind not in ANNOTATOR_KINDS:
        raise LabelValueError(f"annotator_kind {annotator_kind!r} is not one of {ANNOTATOR_KINDS}")
    if value_kind not in VALUE_KINDS:
        raise LabelValueError(f"value_kind {value_kind!r} is not one of {VALUE_KINDS}")
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LabelValueError(f"label value {value!r} is not a finite number")
    if value_kind == "ternary" and value not in (-1, 0, 1):
        raise LabelValueError(f"a ternary label is -1, 0 or +1, got {value!r}")
    if value_kind == "boolean" and value not in (0, 1):
        raise LabelValueError(f"a boolean label is 0 or 1 (or True/False), got {value!r}")
    if value_kind == "soft" and not 0.0 <= value <= 1.0:
        raise LabelValueError(f"a soft label lies in [0, 1], got {value!r}")
    if (rollouts is None) != (solved is None):
        raise LabelValueError("give both rollouts and solved, or neither")
    if rollouts is not None and not 0 <= solved <= rollouts:
        raise LabelValueError(
            f"need 0 <= solved <= rollouts, got solved={solved}, rollouts={rollouts}"
        )


def to_ternary(value: float, value_kind: str) -> int:
    """Map any label value to -1/0/+1: boolean 1 -> +1, 0 -> -1; soft > 0 -> +1 (Math-Shepherd's
    *hard estimate*: some continuation reached the right answer), soft == 0 -> -1."""
    if value_kind == "ternary":
        return int(value)
    return 1 if value > 0 else -1
