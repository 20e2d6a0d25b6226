"""SQL bulk writes for importers: one batch of trajectories, steps and label events per transaction.

A batch is written together with its ``imports`` row (source sha256, batch number, line range),
so a batch is either entirely in the store or not at all, and an import knows where to resume.
Ids are assigned inside the write transaction (``max(id) + 1``) so no row needs a round trip.
The rows an item carries are named in :mod:`rl.prm.rows` and read here by name; the column order
of each statement is set here alone (the SQLite store and PostgreSQL's ``COPY`` run the same SQL).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from typing import Iterable, Sequence

from .errors import PrmError
from .rows import LabelRow, PlainLabels, SessionRow, VerdictRow
from .segment import Span
from .store import _CHUNK, _INSERT_EVENT, _ON_CONFLICT, PrmStore, now, problem_hash, trajectory_hash


@dataclass(frozen=True)
class BatchItem:
    """One trajectory of an import batch, with its problem, step spans and label rows."""

    problem_text: str
    """Problem statement."""
    gold_answer: str | None
    """Gold final answer."""
    source: str | None
    """Source dataset."""
    licence: str | None
    """Source licence."""
    raw_text: str
    """The trajectory text."""
    generator: str
    """Who generated it."""
    method: str
    """Segmentation method name (e.g. ``prm800k``)."""
    method_version: int
    """Segmentation method version."""
    spans: Sequence[Span]
    """Step spans into ``raw_text``."""
    labels: Sequence[LabelRow]
    """Label rows, written in this order (before ``plain_labels``)."""
    session: SessionRow | None = None
    """The labelling session the labels come from (e.g. one PRM800K line); equal rows in a batch
    are one session."""
    sampling_json: str = "{}"
    """Sampling parameters as JSON text."""
    final_answer: str | None = None
    """Final answer, when the source gives it."""
    meta_json: str = "{}"
    """Source metadata as JSON text."""
    parent: int | None = None
    """Index (in the same batch) of the trajectory this one branches from."""
    branch_step: int | None = None
    """Step index where it branches."""
    plain_labels: PlainLabels | None = None
    """More label rows, in the compact form of those with no rationale, error type, rollouts, solved
    or meta (:meth:`PlainLabels.rows <rl.prm.rows.PlainLabels.rows>`). Written after ``labels``."""
    verdict: VerdictRow | None = None
    """A final verdict the source gives (e.g. ProcessBench's ``final_answer_correct`` as
    ``processbench:final_answer_correct``), recorded in ``final_verdicts`` unless that trajectory
    already has one by the same verifier."""

    def event_count(self) -> int:
        """Number of label rows (``labels`` and ``plain_labels``).

        >>> plain = PlainLabels("ternary", "human", "x", "t", 8, [0], [1])
        >>> BatchItem("p", None, None, None, "a", "g", "m", 1, [(0, 1)], [],
        ...           plain_labels=plain).event_count()
        1
        """
        plain = self.plain_labels
        return len(self.labels) + (len(plain.step_idxs) if plain is not None else 0)

    def as_row(self) -> tuple:
        """The fields as a tuple of plain values and plain tuples (marshal-able: the named rows
        become plain tuples), in declaration order; see :meth:`from_row`."""
        row = list(vars(self).values())
        if self.labels:
            row[_LABELS] = list(map(tuple, self.labels))
        for index, _ in _NAMED_ROWS:
            if row[index] is not None:
                row[index] = tuple(row[index])
        return tuple(row)

    @classmethod
    def from_row(cls, row: Sequence) -> "BatchItem":
        """The item back from :meth:`as_row`'s tuple, without re-running ``__init__`` (a frozen
        dataclass pays one ``object.__setattr__`` per field, which dominated re-reading spooled
        items).

        >>> verdict = VerdictRow(verifier="v", status="pass", score=1.0, final_answer=None)
        >>> item = BatchItem("p", None, None, None, "a", "g", "m", 1, [(0, 1)], [], verdict=verdict)
        >>> BatchItem.from_row(item.as_row()).verdict.status
        'pass'
        """
        item = object.__new__(cls)
        state = vars(item)
        state.update(zip(_FIELD_NAMES, row))
        if state["labels"]:
            state["labels"] = [_named(LabelRow, label) for label in state["labels"]]
        for index, kind in _NAMED_ROWS:
            if row[index] is not None:
                state[_FIELD_NAMES[index]] = _named(kind, row[index])
        return item


#: ``_named(Kind, plain_tuple)`` is ``Kind._make(plain_tuple)`` without its length check (the
#: spool gives back exactly what :meth:`BatchItem.as_row` wrote).
_named = tuple.__new__
_FIELD_NAMES = tuple(f.name for f in fields(BatchItem))
_LABELS = _FIELD_NAMES.index("labels")
#: Fields holding one named row (or None): their positions in :meth:`BatchItem.as_row`, and type.
_NAMED_ROWS = tuple(
    (_FIELD_NAMES.index(name), kind)
    for name, kind in (
        ("session", SessionRow),
        ("plain_labels", PlainLabels),
        ("verdict", VerdictRow),
    )
)
_DEFAULTS = {f.name: f.default for f in fields(BatchItem)}  # required fields: MISSING, always given


def new_item(common: dict, **values: object) -> BatchItem:
    """``BatchItem(**common, **values)`` for importers, without the frozen dataclass's
    per-field ``object.__setattr__`` (a quarter of the cost of building an item per line).
    Fields are kept in declaration order, as :meth:`BatchItem.as_row` needs.

    >>> common = {"problem_text": "p", "gold_answer": None, "source": None, "licence": None,
    ...           "generator": "g", "method": "m", "method_version": 1}
    >>> item = new_item(common, raw_text="a", spans=[(0, 1)], labels=[])
    >>> item == BatchItem("p", None, None, None, "a", "g", "m", 1, [(0, 1)], [])
    True
    """
    state = _DEFAULTS.copy()
    state.update(common)
    state.update(values)
    if len(state) != len(_DEFAULTS):
        raise TypeError(f"unknown BatchItem fields: {sorted(set(state) - set(_DEFAULTS))}")
    item = object.__new__(BatchItem)
    vars(item).update(state)
    return item


@dataclass(frozen=True)
class BatchMark:
    """Where an import batch came from; stored in ``imports`` in the same transaction as its
    rows."""

    source_hash: str
    """sha256 of the whole source file."""
    source_name: str
    """File name, for humans."""
    format: str
    """Importer name."""
    batch_no: int
    """0-based batch number."""
    first_line: int
    """First source line (1-based) of the batch."""
    last_line: int
    """Last source line of the batch."""


def write_batch(store: PrmStore, items: Sequence[BatchItem], mark: BatchMark) -> bool:
    """Write one import batch atomically with its ``imports`` row; ``False`` if already
    committed."""

    def run(conn: sqlite3.Connection) -> bool:
        if conn.execute(
            "SELECT 1 FROM imports WHERE source_hash = ? AND batch_no = ?",
            (mark.source_hash, mark.batch_no),
        ).fetchone():
            return False
        problem_ids, problem_keys = _upsert_problems(conn, items)
        trajectory_ids, existing = _upsert_trajectories(conn, items, problem_ids, problem_keys)
        step_ids = _upsert_segmentations(conn, items, trajectory_ids, existing)
        sessions = _insert_sessions(conn, items)
        _insert_events(conn, items, step_ids, sessions)
        _insert_verdicts(conn, items, trajectory_ids)
        conn.execute(
            "INSERT INTO imports (source_hash, batch_no, source_name, format, first_line, "
            "last_line, steps, committed_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                mark.source_hash,
                mark.batch_no,
                mark.source_name,
                mark.format,
                mark.first_line,
                mark.last_line,
                sum(len(i.spans) for i in items),
                now(),
            ),
        )
        return True

    with store.foreign_keys_unchecked():  # the batch builds every reference itself
        return store.write(run)


# Most imported events have no rationale, error type, rollouts or meta: they go through a statement
# that binds only the other 9 columns, which SQLite inserts in about half the time of all 14.
_INSERT_PLAIN_EVENT = (
    "INSERT INTO label_events (id, step_id, value, value_kind, annotator_kind, annotator_id, "
    "created_at, dedupe_key, session_id) VALUES (?,?,?,?,?,?,?,?,?) " + _ON_CONFLICT
)


def _insert_events(
    conn: sqlite3.Connection,
    items: Sequence[BatchItem],
    step_ids: list[Sequence[int]],
    sessions: dict[SessionRow, int],
) -> None:
    event_id = PrmStore.next_id(conn, "label_events")
    plain: list[tuple] = []
    full: list[tuple] = []
    add_plain, add_full = plain.append, full.append
    for item, ids in zip(items, step_ids):
        session = sessions.get(item.session)
        for row in item.labels:
            if (
                row.meta_json is None
                and row.rationale is None
                and row.error_type is None
                and row.rollouts is None
                and row.solved is None
            ):
                add_plain(_plain_event(event_id, ids[row.step_idx], row, session))
            else:
                add_full(_full_event(event_id, ids[row.step_idx], row, session))
            event_id += 1
        if item.plain_labels is not None:
            compact = item.plain_labels
            kind, who, stamp = compact.annotator_kind, compact.annotator_id, compact.created_at
            value_kind, base = compact.value_kind, compact.key_base
            plain += [
                (event_id + k, ids[step], value, value_kind, kind, who, stamp, base + step, session)
                for k, (step, value) in enumerate(zip(compact.step_idxs, compact.values))
            ]
            event_id += len(compact.step_idxs)
    conn.executemany(_INSERT_PLAIN_EVENT, plain)
    conn.executemany(_INSERT_EVENT, full)


def _plain_event(event_id: int, step_id: int, row: LabelRow, session: int | None) -> tuple:
    """The values of :data:`_INSERT_PLAIN_EVENT` for ``row``."""
    return (
        event_id,
        step_id,
        row.value,
        row.value_kind,
        row.annotator_kind,
        row.annotator_id,
        row.created_at,
        row.dedupe_key,
        session,
    )


def _full_event(event_id: int, step_id: int, row: LabelRow, session: int | None) -> tuple:
    """The values of the store's ``_INSERT_EVENT`` (all label event columns) for ``row``."""
    return (
        event_id,
        step_id,
        row.value,
        row.value_kind,
        row.annotator_kind,
        row.annotator_id,
        row.rationale,
        row.error_type,
        row.rollouts,
        row.solved,
        row.created_at,
        row.meta_json,
        row.dedupe_key,
        session,
    )


def _insert_verdicts(
    conn: sqlite3.Connection, items: Sequence[BatchItem], trajectory_ids: list[int]
) -> None:
    stamp = now()
    conn.executemany(
        "INSERT INTO final_verdicts (trajectory_id, verifier, status, score, final_answer, "
        "created_at) VALUES (?,?,?,?,?,?) ON CONFLICT (trajectory_id, verifier) DO NOTHING",
        [
            (tid, verdict.verifier, verdict.status, verdict.score, verdict.final_answer, stamp)
            for verdict, tid in zip((item.verdict for item in items), trajectory_ids)
            if verdict is not None
        ],
    )


def _insert_sessions(conn: sqlite3.Connection, items: Sequence[BatchItem]) -> dict[SessionRow, int]:
    next_id, ids = PrmStore.next_id(conn, "label_sessions"), {}
    for item in items:
        if item.session is not None and item.session not in ids:
            ids[item.session] = next_id
            next_id += 1
    conn.executemany(
        "INSERT INTO label_sessions (id, annotator_kind, annotator_id, source, started_at, "
        "meta_json) VALUES (?,?,?,?,?,?)",
        [
            (i, s.annotator_kind, s.annotator_id, s.source, s.started_at, s.meta_json)
            for s, i in ids.items()
        ],
    )
    return ids


def _lookup(conn: sqlite3.Connection, table: str, keys: Iterable[str]) -> dict[str, int]:
    keys = list(keys)
    found: dict[str, int] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        found.update(
            conn.execute(
                f"SELECT hash, id FROM {table} WHERE hash IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
        )
    return found


def _upsert_problems(
    conn: sqlite3.Connection, items: Sequence[BatchItem]
) -> tuple[list[int], list[str]]:
    keys = [problem_hash(i.problem_text, i.gold_answer) for i in items]
    ids = _lookup(conn, "problems", set(keys))
    next_id, stamp, rows = PrmStore.next_id(conn, "problems"), now(), []
    for key, item in zip(keys, items):
        if key not in ids:
            ids[key] = next_id
            rows.append(
                (
                    next_id,
                    key,
                    item.problem_text,
                    item.gold_answer,
                    item.source,
                    item.licence,
                    stamp,
                )
            )
            next_id += 1
    conn.executemany(
        "INSERT INTO problems (id, hash, text, gold_answer, source, licence, created_at) "
        "VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    return [ids[k] for k in keys], keys


def _upsert_trajectories(
    conn: sqlite3.Connection,
    items: Sequence[BatchItem],
    problem_ids: list[int],
    problem_keys: list[str],
) -> tuple[list[int], set[int]]:
    keys = [trajectory_hash(p, i.raw_text, i.generator) for p, i in zip(problem_keys, items)]
    ids = _lookup(conn, "trajectories", set(keys))
    existing = set(ids.values())
    next_id, stamp, rows, out = PrmStore.next_id(conn, "trajectories"), now(), [], []
    for key, item, problem_id in zip(keys, items, problem_ids):
        if key not in ids:
            ids[key] = next_id
            parent = out[item.parent] if item.parent is not None else None
            rows.append(
                (
                    next_id,
                    key,
                    problem_id,
                    item.raw_text,
                    item.generator,
                    item.sampling_json,
                    item.final_answer,
                    parent,
                    item.branch_step,
                    item.meta_json,
                    stamp,
                )
            )
            next_id += 1
        out.append(ids[key])
    conn.executemany(
        "INSERT INTO trajectories (id, hash, problem_id, raw_text, generator, sampling_json, "
        "final_answer, parent_id, branch_step, meta_json, created_at) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    return out, existing


def _upsert_segmentations(
    conn: sqlite3.Connection,
    items: Sequence[BatchItem],
    trajectory_ids: list[int],
    existing: set[int],
) -> list[Sequence[int]]:
    seg_id, step_id, stamp = (
        PrmStore.next_id(conn, "segmentations"),
        PrmStore.next_id(conn, "steps"),
        now(),
    )
    known: dict[tuple, Sequence[int]] = {}
    seg_rows, step_rows, out = [], [], []
    for item, tid in zip(items, trajectory_ids):
        key = (tid, item.method, item.method_version)
        if key not in known and tid in existing:
            known.update(_stored_steps(conn, key))
        if key not in known:
            seg_rows.append((seg_id, tid, item.method, item.method_version, stamp))
            step_rows += [(step_id + i, seg_id, i, a, b) for i, (a, b) in enumerate(item.spans)]
            known[key] = range(step_id, step_id + len(item.spans))
            seg_id, step_id = seg_id + 1, step_id + len(item.spans)
        elif len(known[key]) != len(item.spans):
            raise PrmError(
                f"trajectory {tid} already has {len(known[key])} steps under {item.method}@"
                f"{item.method_version}, the import gives {len(item.spans)}"
            )
        out.append(known[key])
    conn.executemany(
        "INSERT INTO segmentations (id, trajectory_id, method, version, created_at) VALUES "
        "(?,?,?,?,?)",
        seg_rows,
    )
    conn.executemany(
        "INSERT INTO steps (id, segmentation_id, idx, start_char, end_char) VALUES (?,?,?,?,?)",
        step_rows,
    )
    return out


def _stored_steps(conn: sqlite3.Connection, key: tuple) -> dict[tuple, Sequence[int]]:
    row = conn.execute(
        "SELECT id FROM segmentations WHERE trajectory_id = ? AND method = ? AND version = ?", key
    ).fetchone()
    if row is None:
        return {}
    return {
        key: [
            r[0]
            for r in conn.execute(
                "SELECT id FROM steps WHERE segmentation_id = ? ORDER BY idx", (row[0],)
            )
        ]
    }
