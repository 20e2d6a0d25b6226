"""The current label of a step: a fixed, documented rule over its append-only label events.

Rule (version 1):

1. **Latest per annotator.** For each annotator (``annotator_kind``, ``annotator_id``) only
   their most recent event counts: a labeler who changes their mind appends a new event, and
   the old one stays in the history.
2. **Precedence of kinds.** The deciding kind is the highest present in
   ``human > verifier > model_judge > monte_carlo``. Lower kinds never outvote a human.
3. **Value.** For ``monte_carlo`` the pooled estimate ``soft = sum(solved) / sum(rollouts)``
   over the annotators' latest events (an event without rollout counts weighs 1) decides:
   ``+1`` if ``soft > 0`` (Math-Shepherd's hard estimate: some continuation reached the right
   answer), else ``-1``. For the other kinds, the majority of ternary values (boolean true ->
   +1, false -> -1) wins; **a tie resolves to the lowest tied value**, so a step that one of two
   labelers calls wrong is not silently called right.
4. **Disagreement** is flagged when the latest events of all annotators (any kind) map to
   more than one ternary value; :meth:`rl.prm.store.PrmStore.disagreements` lists such steps.

A step with no events has no current label (``None``).

>>> rows = [(1, 1.0, "ternary", "human", "a", None, None),
...         (2, -1.0, "ternary", "human", "b", None, None)]
>>> label = resolve_rows(7, rows)
>>> label.value, label.disagreement
(-1, True)
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from .records import CurrentLabel, LabelEvent, to_ternary

#: Version of the rule above; exports record it.
RULE_VERSION = 1

#: Annotator kinds from strongest to weakest.
PRECEDENCE = ("human", "verifier", "model_judge", "monte_carlo")
_RANK = {kind: rank for rank, kind in enumerate(PRECEDENCE)}

#: (event id, value, value_kind, annotator_kind, annotator_id, rollouts, solved)
EventRow = tuple


def resolve(events: Iterable[LabelEvent]) -> CurrentLabel | None:
    """Current label of one step from its :class:`LabelEvent` s (``None`` when there are none).

    >>> from rl.prm.records import LabelEvent
    >>> resolve([LabelEvent(step_id=3, value=0, annotator_kind="human", annotator_id="a")]).value
    0
    """
    events = list(events)
    if not events:
        return None
    rows = [
        (
            e.id if e.id is not None else i,
            e.value,
            e.value_kind,
            e.annotator_kind,
            e.annotator_id,
            e.rollouts,
            e.solved,
        )
        for i, e in enumerate(events)
    ]
    return resolve_rows(events[0].step_id, rows)


def resolve_rows(step_id: int, rows: Sequence[EventRow]) -> CurrentLabel | None:
    """:func:`resolve` over raw rows ``(id, value, value_kind, annotator_kind, annotator_id,
    rollouts, solved)``."""
    if not rows:
        return None
    if len(rows) == 1:
        return _single(step_id, rows[0])
    latest: dict[tuple[str, str], EventRow] = {}
    for row in sorted(rows, key=lambda r: r[0]):
        latest[(row[3], row[4])] = row
    kind = min((key[0] for key in latest), key=_RANK.__getitem__)
    deciding = [row for key, row in latest.items() if key[0] == kind]
    all_values = {to_ternary(row[1], row[2]) for row in latest.values()}
    if kind == "monte_carlo":
        soft = _pooled(deciding)
        value = 1 if soft > 0 else -1
    else:
        soft = None
        value = _majority([to_ternary(row[1], row[2]) for row in deciding])
    return CurrentLabel(
        step_id=step_id,
        value=value,
        soft=soft,
        annotator_kind=kind,
        n_events=len(rows),
        n_annotators=len(deciding),
        disagreement=len(all_values) > 1,
    )


def _single(step_id: int, row: EventRow) -> CurrentLabel:
    soft = float(row[1]) if row[3] == "monte_carlo" else None
    return CurrentLabel(
        step_id=step_id,
        value=to_ternary(row[1], row[2]),
        soft=soft,
        annotator_kind=row[3],
        n_events=1,
        n_annotators=1,
        disagreement=False,
    )


def _pooled(rows: Sequence[EventRow]) -> float:
    solved = tried = 0.0
    for row in rows:
        if row[5]:
            solved += row[6]
            tried += row[5]
        else:
            solved += row[1]
            tried += 1
    return solved / tried if tried else 0.0


def _majority(values: list[int]) -> int:
    counts = Counter(values)
    best = max(counts.values())
    return min(value for value, count in counts.items() if count == best)
