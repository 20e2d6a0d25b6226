"""The rows an import hands the bulk writer, named in one place: label rows, their compact form,
labelling sessions and the verdicts a source gives.

Format parsers build them by field name; :mod:`rl.prm.bulk` reads them by field name and alone
decides the column order of the SQL it writes. They are tuples, so they stay cheap to build by the
million; the import spool (marshal, which takes plain tuples only) carries them as plain tuples and
:meth:`~rl.prm.bulk.BatchItem.from_row` names them again.

>>> plain = PlainLabels(value_kind="ternary", annotator_kind="human", annotator_id="alice",
...                     created_at="2024-01-01T00:00:00+00:00", key_base=100,
...                     step_idxs=[0, 2], values=[1, -1])
>>> [(row.step_idx, row.value, row.dedupe_key) for row in plain.rows()]
[(0, 1, 100), (2, -1, 102)]
"""

from __future__ import annotations

from typing import NamedTuple, Sequence


class LabelRow(NamedTuple):
    """One label event of an import, on the step at ``step_idx`` of its trajectory (the bulk writer
    maps the index to the step's id).

    >>> row = LabelRow(step_idx=0, value=1, value_kind="ternary", annotator_kind="human",
    ...                annotator_id="alice", created_at="2024-01-01T00:00:00+00:00", dedupe_key=7)
    >>> row.value, row.rationale
    (1, None)
    """

    step_idx: int
    """0-based index of the labelled step."""
    value: float
    """The label (see :attr:`rl.prm.records.LabelEvent.value`)."""
    value_kind: str
    """``ternary``, ``boolean`` or ``soft``."""
    annotator_kind: str
    """One of :data:`rl.prm.records.ANNOTATOR_KINDS`."""
    annotator_id: str
    """Who labelled it."""
    created_at: str
    """ISO-8601 time of the label."""
    dedupe_key: int
    """Key that makes importing the same line twice add nothing."""
    rationale: str | None = None
    """Free-text reason."""
    error_type: str | None = None
    """Kind of mistake."""
    rollouts: int | None = None
    """Monte-Carlo: continuations graded."""
    solved: int | None = None
    """Monte-Carlo: continuations whose final answer was right."""
    meta_json: str | None = None
    """Extra facts as JSON text."""


class PlainLabels(NamedTuple):
    """Label rows with no rationale, error type, rollouts, solved or meta, in a compact form that
    is cheaper to build, spool and write: one row per ``step_idxs`` / ``values`` pair, keyed
    ``key_base + step_idx`` (see :meth:`rows`)."""

    value_kind: str
    """``value_kind`` of every row."""
    annotator_kind: str
    """``annotator_kind`` of every row."""
    annotator_id: str
    """``annotator_id`` of every row."""
    created_at: str
    """``created_at`` of every row."""
    key_base: int
    """A row's ``dedupe_key`` is ``key_base + step_idx``."""
    step_idxs: Sequence[int]
    """The labelled steps, in row order."""
    values: Sequence[float]
    """Their labels."""

    def rows(self) -> list[LabelRow]:
        """The label rows this stands for, in order (the bulk writer writes the same rows)."""
        return [
            LabelRow(
                step_idx=step,
                value=value,
                value_kind=self.value_kind,
                annotator_kind=self.annotator_kind,
                annotator_id=self.annotator_id,
                created_at=self.created_at,
                dedupe_key=self.key_base + step,
            )
            for step, value in zip(self.step_idxs, self.values)
        ]


class SessionRow(NamedTuple):
    """The labelling session label rows come from (e.g. one PRM800K line); equal rows in one batch
    are one session."""

    annotator_kind: str
    """Who labelled: kind."""
    annotator_id: str
    """Who labelled: id."""
    source: str
    """Where the session is recorded (e.g. the file's hash prefix and line)."""
    started_at: str
    """ISO-8601 time of the session."""
    meta_json: str
    """Session metadata as JSON text, read back merged into each event's ``meta``."""


class VerdictRow(NamedTuple):
    """A final verdict the source gives for a trajectory (e.g. ProcessBench's
    ``final_answer_correct``)."""

    verifier: str
    """Verifier name the verdict is recorded under."""
    status: str
    """A :class:`verifiers.Status` value (``pass``, ``fail``, ...)."""
    score: float | None
    """Verdict score."""
    final_answer: str | None
    """The answer that was graded, when known."""
