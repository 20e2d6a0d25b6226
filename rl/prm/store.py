"""The PRM annotation store: one SQLite file (WAL) or a PostgreSQL database, versioned schema,
append-only label events.

>>> import tempfile, os
>>> store = PrmStore(os.path.join(tempfile.mkdtemp(), "prm.db"))
>>> problem = store.add_problem("What is 2+2?", gold_answer="4", source="demo", licence="CC0")
>>> traj = store.add_trajectory(problem.id, "2+2 = 4.\\nThe answer is 4.", generator="demo-model")
>>> steps = store.add_segmentation(traj.id, method="newline@1")
>>> [s.text for s in steps]
['2+2 = 4.', 'The answer is 4.']
>>> _ = store.label(steps[0].id, +1, annotator_kind="human", annotator_id="alice")
>>> store.first_wrong_step(traj.id)
-1
>>> store.close()

Concurrency: every write runs in ``BEGIN IMMEDIATE`` (the write lock is taken up front, so a
transaction never fails half-way for lack of it), SQLite's busy timeout waits for other
writers, and on top of that a bounded retry with backoff re-runs the whole transaction on
"database is locked"; only after ``retry_s`` seconds does :class:`StoreBusyError` surface.
On PostgreSQL (a ``postgresql://`` URL, :mod:`rl.prm.postgres`) a write transaction takes an
advisory lock instead, ``lock_timeout`` bounds one wait, and the same retry runs over it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import sqlite3
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from verifiers import Status

from .errors import NotFoundError, PrmError, StoreBusyError
from .records import CurrentLabel, FinalVerdict, LabelEvent, Problem, Step, Trajectory
from .resolve import resolve_rows
from .postgres import is_url
from .schema import SCHEMA_VERSION, begin_write, migrate
from .segment import Span, check_spans, parse_method, segment

T = TypeVar("T")

_EVENT_COLUMNS = (
    "id, step_id, value, value_kind, annotator_kind, annotator_id, rationale, error_type, "
    "rollouts, solved, created_at, meta_json, dedupe_key, session_id"
)
_ON_CONFLICT = "ON CONFLICT (step_id, dedupe_key) DO NOTHING"
_INSERT_EVENT = (
    f"INSERT INTO label_events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    f"{_ON_CONFLICT}"
)
_SELECT_EVENTS = (
    "SELECT e.id, e.step_id, e.value, e.value_kind, e.annotator_kind, e.annotator_id, e.rationale, "
    "e.error_type, e.rollouts, e.solved, e.created_at, e.meta_json, e.dedupe_key, s.meta_json "
    "FROM label_events e LEFT JOIN label_sessions s ON s.id = e.session_id"
)
_LATEST_SEGMENTATION = "SELECT max(id) FROM segmentations WHERE trajectory_id = ?"
_CHUNK = 500  # bound on host parameters per IN (...) list


def now() -> str:
    """The current time as ISO-8601 UTC text (the store's time format)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


# One encoder for every call: ``json.dumps`` with non-default options builds a new encoder per call,
# which cost more than the encoding itself for the small objects an import writes per line.
_CANONICAL_JSON = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def to_json(value: Any) -> str:
    """Canonical JSON text (sorted keys, compact).

    >>> to_json({"b": 1, "a": [True, None]}), to_json({})
    ('{"a":[true,null],"b":1}', '{}')
    """
    if type(value) is dict and not value:  # most imported trajectories' meta
        return "{}"
    return _CANONICAL_JSON.encode(value)


def problem_hash(text: str, gold_answer: str | None) -> str:
    """Natural key of a problem: sha256 of its text and gold answer."""
    return _sha("problem", text, gold_answer or "")


def trajectory_hash(problem_key: str, raw_text: str, generator: str) -> str:
    """Natural key of a trajectory: sha256 of (problem hash, raw text, generator)."""
    return _sha("trajectory", problem_key, raw_text, generator)


def dedupe_base(*parts: Any) -> int:
    """A 62-bit key from ``parts``; importers add the step index to it (``base + index`` stays
    below 2**63), so one hash per (source, line, branch, annotator) keys all its label events."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2


def _sha(*parts: str) -> str:
    return (
        "sha256:" + hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    )


def _is_busy(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _without_password(target: str) -> str:
    """``target`` for messages: a URL's password masked.

    >>> _without_password("postgresql://ann:secret@db/prm"), _without_password("prm.db")
    ('postgresql://ann:***@db/prm', 'prm.db')
    """
    return re.sub(r"^(\w+://[^:/@]*):[^@/]*@", r"\1:***@", target)


class PrmStore:
    """Problems, trajectories, segmentations and label events in one SQLite file or PostgreSQL
    database.

    Args:
        path: database file (created with the current schema when missing), or a ``postgresql://``
            URL of an existing database (tables created when missing; needs ``rlvr[postgres]``).
        busy_timeout_s: SQLite's own wait for a lock (PostgreSQL: ``lock_timeout``), per attempt.
        retry_s: total time the bounded retry keeps re-running a locked transaction.
        schema_version: migrate only up to this version (for testing migrations; default: latest).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = 5.0,
        retry_s: float = 60.0,
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        self.path = str(path)
        self.retry_s = retry_s
        self.retries = 0
        """Locked transactions re-run by the bounded retry so far (for monitoring)."""
        self._busy_timeout_s = busy_timeout_s
        self.backend = "postgresql" if is_url(self.path) else "sqlite"
        """``"sqlite"`` or ``"postgresql"``."""
        self._conn: Any = self._connect()
        self.schema_version = self._retry(lambda: migrate(self._conn, schema_version))

    def _connect(self) -> Any:
        if self.backend == "postgresql":
            from .postgres import PgConnection

            return PgConnection(self.path, lock_timeout_s=self._busy_timeout_s)
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self._busy_timeout_s, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        conn.execute("PRAGMA synchronous = NORMAL")
        # 64 MiB page cache: indexes of big imports stay hot
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> "PrmStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database. (PostgreSQL checks its
        constraints on every write and has no such pragma: ``"ok"`` once a query runs.)"""
        if self.backend == "postgresql":
            return "ok" if self._conn.execute("SELECT 1").fetchone() == (1,) else "failed"
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    # -- transactions ----------------------------------------------------------------------
    def _retry(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.retry_s
        delay = 0.01
        while True:
            try:
                return fn()
            except Exception as exc:
                if not (
                    _is_busy(exc) or (self.backend == "postgresql" and self._conn.is_busy(exc))
                ):
                    raise
                if time.monotonic() > deadline:
                    raise StoreBusyError(
                        f"{_without_password(self.path)} stayed locked for more than "
                        f"{self.retry_s:g}s ({exc}); another "
                        "process holds a long write transaction - wait for it, or raise retry_s"
                    ) from exc
                self.retries += 1
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in one write transaction (``BEGIN IMMEDIATE``; PostgreSQL: ``BEGIN`` and
        the store's advisory lock), retried while locked."""

        def attempt() -> T:
            begin_write(self._conn)
            try:
                result = fn(self._conn)
                self._conn.execute("COMMIT")
                return result
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

        return self._retry(attempt)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only query (retried while locked)."""
        return self._retry(lambda: self._conn.execute(sql, params).fetchall())

    @contextlib.contextmanager
    def foreign_keys_unchecked(self) -> Iterator[None]:
        """Skip per-row foreign-key lookups for writes that build every reference themselves
        (bulk imports). SQLite ignores the pragma inside a transaction, hence around it.
        PostgreSQL always checks its foreign keys: a no-op there."""
        if self.backend == "postgresql":
            yield
            return
        self._conn.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            self._conn.execute("PRAGMA foreign_keys = ON")

    @contextlib.contextmanager
    def bulk_load(self, checkpoint_pages: int = 16384) -> Iterator[None]:
        """Checkpoint the WAL every ``checkpoint_pages`` pages (64 MiB) instead of SQLite's 1000
        while a bulk import runs: pages rewritten by consecutive batches (index leaves, the tables'
        last pages) are copied to the database file once per checkpoint instead of once per batch.
        Durability is unchanged (WAL, ``synchronous = NORMAL``); only the WAL file grows larger.
        PostgreSQL: ``synchronous_commit = off`` meanwhile (the same durability as that SQLite
        setting)."""
        if self.backend == "postgresql":
            self._conn.set_bulk(True)
            try:
                yield
            finally:
                self._conn.set_bulk(False)
            return
        previous = self._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(previous)}")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A second connection reading one consistent snapshot (for exports that stream while others
        write).

        Its ``execute`` returns cursors that stream (SQLite's own; server-side cursors on
        PostgreSQL).
        """
        if self.backend == "postgresql":
            from .postgres import PgConnection

            conn: Any = PgConnection(self.path, streaming=True)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("BEGIN")
        try:
            yield conn
            conn.execute("COMMIT")
        finally:
            conn.close()

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        """``(name, declared SQL type)`` of each column of ``table``, in order."""
        if self.backend == "postgresql":
            return self._conn.table_columns(table)
        return [(c[1], c[2].upper()) for c in self.read(f"PRAGMA table_info({table})")]

    @staticmethod
    def next_id(conn: sqlite3.Connection, table: str) -> int:
        """Next free id of ``table``; only meaningful inside a write transaction."""
        return conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]

    # -- problems and trajectories ---------------------------------------------------------
    def add_problem(
        self,
        text: str,
        *,
        gold_answer: str | None = None,
        source: str | None = None,
        licence: str | None = None,
    ) -> Problem:
        """Add a problem (idempotent on its content hash) and return it with its id."""
        key = problem_hash(text, gold_answer)

        def insert(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT id FROM problems WHERE hash = ?", (key,)).fetchone()
            if row:
                return row[0]
            new_id = self.next_id(conn, "problems")
            conn.execute(
                "INSERT INTO problems (id, hash, text, gold_answer, source, licence, created_at) "
                "VALUES (?,?,?,?,?,?,?)",
                (new_id, key, text, gold_answer, source, licence, now()),
            )
            return new_id

        return Problem(text, gold_answer, source, licence, key, self.write(insert))

    def add_trajectory(
        self,
        problem_id: int,
        raw_text: str,
        *,
        generator: str = "unknown",
        sampling: Mapping[str, Any] | None = None,
        final_answer: str | None = None,
        meta: Mapping[str, Any] | None = None,
        parent_id: int | None = None,
        branch_step: int | None = None,
    ) -> Trajectory:
        """Add a trajectory (idempotent on hash(problem, raw text, generator)); its text is never
        rewritten."""
        problem = self.problem(problem_id)
        key = trajectory_hash(problem.hash, raw_text, generator)
        sampling, meta = dict(sampling or {}), dict(meta or {})

        def insert(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT id FROM trajectories WHERE hash = ?", (key,)).fetchone()
            if row:
                return row[0]
            new_id = self.next_id(conn, "trajectories")
            conn.execute(
                "INSERT INTO trajectories (id, hash, problem_id, raw_text, generator, "
                "sampling_json, final_answer, parent_id, branch_step, meta_json, created_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    new_id,
                    key,
                    problem_id,
                    raw_text,
                    generator,
                    to_json(sampling),
                    final_answer,
                    parent_id,
                    branch_step,
                    to_json(meta),
                    now(),
                ),
            )
            return new_id

        return Trajectory(
            problem_id,
            raw_text,
            generator,
            sampling,
            final_answer,
            parent_id,
            branch_step,
            meta,
            key,
            self.write(insert),
        )

    def problem(self, problem_id: int) -> Problem:
        """The problem with this id."""
        rows = self.read(
            "SELECT text, gold_answer, source, licence, hash, id FROM problems WHERE id = ?",
            (problem_id,),
        )
        if not rows:
            raise NotFoundError(f"no problem with id {problem_id}")
        return Problem(*rows[0])

    def trajectory(self, ref: int | str) -> Trajectory:
        """The trajectory with this id, or whose hash (with or without ``sha256:``) starts with
        ``ref``."""
        trajectory_id = self.trajectory_id(ref)
        row = self.read(
            "SELECT problem_id, raw_text, generator, sampling_json, final_answer, parent_id, "
            "branch_step, meta_json, hash, id FROM trajectories WHERE id = ?",
            (trajectory_id,),
        )[0]
        return Trajectory(
            row[0],
            row[1],
            row[2],
            json.loads(row[3]),
            row[4],
            row[5],
            row[6],
            json.loads(row[7]),
            row[8],
            row[9],
        )

    def trajectory_id(self, ref: int | str) -> int:
        """Resolve an id or a unique hash prefix (at least 6 hex digits) to a trajectory id."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit() and len(ref) < 6):
            rows = self.read("SELECT id FROM trajectories WHERE id = ?", (int(ref),))
        else:
            prefix = ref if ref.startswith("sha256:") else "sha256:" + ref
            if len(prefix) < 13:
                raise NotFoundError(f"hash prefix {ref!r} is too short; give at least 6 hex digits")
            rows = self.read(
                "SELECT id FROM trajectories WHERE hash >= ? AND hash < ? LIMIT 2",
                (prefix, prefix + "\U0010ffff"),
            )
            if len(rows) > 1:
                raise NotFoundError(
                    f"hash prefix {ref!r} matches several trajectories; give more digits"
                )
        if not rows:
            raise NotFoundError(f"no trajectory {ref!r}; list some with `rlvr prm stats` or `show`")
        return rows[0][0]

    def trajectory_ids(self) -> list[int]:
        """All trajectory ids, in insertion order."""
        return [row[0] for row in self.read("SELECT id FROM trajectories ORDER BY id")]

    # -- segmentation ----------------------------------------------------------------------
    def add_segmentation(
        self, trajectory_id: int, *, method: str = "newline@1", spans: Sequence[Span] | None = None
    ) -> list[Step]:
        """Segment a trajectory (``method`` from :mod:`rl.prm.segment`, or explicit ``spans``
        recorded under ``method``); idempotent per (trajectory, method, version). Returns the
        steps."""
        raw = self.trajectory(trajectory_id).raw_text
        name, _, version = method.partition("@")
        if spans is None:
            name, number = parse_method(method)
            spans = segment(raw, f"{name}@{number}")
        else:
            number = int(version) if version.isdigit() else 1
        spans = [tuple(s) for s in spans]
        check_spans(len(raw), spans)

        def insert(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT id FROM segmentations WHERE trajectory_id = ? AND method = ? AND "
                "version = ?",
                (trajectory_id, name, number),
            ).fetchone()
            if row:
                return row[0]
            seg_id = self.next_id(conn, "segmentations")
            conn.execute(
                "INSERT INTO segmentations (id, trajectory_id, method, version, created_at) "
                "VALUES (?,?,?,?,?)",
                (seg_id, trajectory_id, name, number, now()),
            )
            first = self.next_id(conn, "steps")
            conn.executemany(
                "INSERT INTO steps (id, segmentation_id, idx, start_char, end_char) "
                "VALUES (?,?,?,?,?)",
                [(first + i, seg_id, i, a, b) for i, (a, b) in enumerate(spans)],
            )
            return seg_id

        seg_id = self.write(insert)
        return self._steps_of(seg_id, raw)

    def steps(self, trajectory_id: int) -> list[Step]:
        """Steps of the trajectory's current (most recent) segmentation, with their text."""
        row = self.read(
            "SELECT raw_text, (SELECT max(id) FROM segmentations WHERE trajectory_id = t.id) "
            "FROM trajectories t WHERE t.id = ?",
            (trajectory_id,),
        )
        if not row:
            raise NotFoundError(f"no trajectory with id {trajectory_id}")
        raw, seg_id = row[0]
        return [] if seg_id is None else self._steps_of(seg_id, raw)

    def _steps_of(self, seg_id: int, raw: str) -> list[Step]:
        rows = self.read(
            "SELECT id, segmentation_id, idx, start_char, end_char FROM steps "
            "WHERE segmentation_id = ? ORDER BY idx",
            (seg_id,),
        )
        return [Step(r[0], r[1], r[2], r[3], r[4], raw[r[3] : r[4]]) for r in rows]

    def step(self, trajectory_ref: int | str, index: int) -> Step:
        """Step ``index`` of a trajectory's current segmentation."""
        steps = self.steps(self.trajectory_id(trajectory_ref))
        if not 0 <= index < len(steps):
            raise NotFoundError(
                f"trajectory {trajectory_ref!r} has {len(steps)} steps; no step {index}"
            )
        return steps[index]

    # -- labels ----------------------------------------------------------------------------
    def label(
        self,
        step_id: int,
        value: float,
        *,
        annotator_kind: str,
        annotator_id: str,
        value_kind: str = "ternary",
        rationale: str | None = None,
        error_type: str | None = None,
        rollouts: int | None = None,
        solved: int | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> LabelEvent:
        """Append one label event to a step and return it (with id and time)."""
        event = LabelEvent(
            step_id=step_id,
            value=value,
            annotator_kind=annotator_kind,
            annotator_id=annotator_id,
            value_kind=value_kind,
            rationale=rationale,
            error_type=error_type,
            rollouts=rollouts,
            solved=solved,
            meta=dict(meta or {}),
        )
        return self.add_labels([event])[0]

    def add_labels(self, events: Iterable[LabelEvent]) -> list[LabelEvent]:
        """Append events in one transaction; an event whose ``dedupe_key`` is already stored on the
        same step is skipped (schema v3; v1-v2 keyed it store-wide).
        Returns the events as stored (with ids and times)."""
        events = list(events)
        stamp = now()

        def insert(conn: sqlite3.Connection) -> list[LabelEvent]:
            first = self.next_id(conn, "label_events")
            stored = [
                _with(e, id=first + i, created_at=e.created_at or stamp)
                for i, e in enumerate(events)
            ]
            self._check_steps_exist(conn, {e.step_id for e in stored})
            conn.executemany(_INSERT_EVENT, [_event_row(e) for e in stored])
            return stored

        return self.write(insert)

    @staticmethod
    def _check_steps_exist(conn: sqlite3.Connection, step_ids: set[int]) -> None:
        ids = sorted(step_ids)
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            found = {
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM steps WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
            }
            missing = sorted(set(chunk) - found)
            if missing:
                raise NotFoundError(
                    f"no step with id {missing[0]}; label steps returned by steps()"
                )

    def events(self, step_id: int) -> list[LabelEvent]:
        """Every label event of a step, oldest first."""
        rows = self.read(f"{_SELECT_EVENTS} WHERE e.step_id = ? ORDER BY e.id", (step_id,))
        return [_event_from_row(r) for r in rows]

    def current_labels(self, trajectory_id: int) -> list[CurrentLabel | None]:
        """Resolved label of each step of the trajectory's current segmentation (``None``:
        unlabelled)."""
        steps = self.steps(trajectory_id)
        if not steps:
            return []
        rows = self.read(
            "SELECT e.step_id, e.id, e.value, e.value_kind, e.annotator_kind, e.annotator_id, "
            "e.rollouts, e.solved FROM label_events e JOIN steps s ON s.id = e.step_id WHERE "
            "s.segmentation_id = ? ORDER BY e.step_id, e.id",
            (steps[0].segmentation_id,),
        )
        grouped: dict[int, list[tuple]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(row[1:])
        return [resolve_rows(s.id, grouped.get(s.id, ())) for s in steps]

    # -- final verdicts --------------------------------------------------------------------
    def record_verdict(
        self,
        trajectory_id: int,
        *,
        verifier: str,
        status: Status | str,
        score: float | None = None,
        final_answer: str | None = None,
    ) -> FinalVerdict:
        """Record the graded final answer (one row per verifier@version; re-grading with the same
        verifier version is a no-op since verdicts are deterministic). ``status`` is a
        :class:`verifiers.Status` or its value (``"pass"``), stored as that text."""
        verdict = FinalVerdict(trajectory_id, verifier, status, score, final_answer, now())
        self.write(
            lambda conn: conn.execute(
                "INSERT INTO final_verdicts (trajectory_id, verifier, status, score, final_answer, "
                "created_at) VALUES (?,?,?,?,?,?) ON CONFLICT (trajectory_id, verifier) DO NOTHING",
                (
                    trajectory_id,
                    verifier,
                    verdict.status.value,
                    score,
                    final_answer,
                    verdict.created_at,
                ),
            )
        )
        return verdict

    def final_verdict(self, trajectory_id: int, verifier: str | None = None) -> FinalVerdict | None:
        """The final verdict by ``verifier`` (default: the most recently recorded one)."""
        sql = (
            "SELECT trajectory_id, verifier, status, score, final_answer, created_at FROM "
            "final_verdicts WHERE trajectory_id = ?"
        )
        params: tuple = (trajectory_id,)
        if verifier is not None:
            sql, params = sql + " AND verifier = ?", (trajectory_id, verifier)
        rows = self.read(sql + " ORDER BY created_at DESC", params)
        return FinalVerdict(*rows[0]) if rows else None

    # -- derived queries -------------------------------------------------------------------
    def first_wrong_step(self, trajectory_id: int) -> int:
        """Index of the earliest step whose current label is -1, or -1 when there is none."""
        return first_wrong(self.current_labels(trajectory_id))

    def correct_process_wrong_answer(self, verifier: str | None = None) -> list[int]:
        """Trajectories whose every step is labelled and none is wrong, but whose final verdict
        fails."""
        return [
            t
            for t, labels, verdict in self._with_verdicts(verifier)
            if verdict.status in (Status.FAIL, Status.UNPARSEABLE)
            and labels
            and all(l is not None and l.value >= 0 for l in labels)
        ]

    def right_answer_wrong_step(self, verifier: str | None = None) -> list[int]:
        """Trajectories whose final verdict passes although some step is labelled wrong."""
        return [
            t
            for t, labels, verdict in self._with_verdicts(verifier)
            if verdict.status is Status.PASS and any(l is not None and l.value < 0 for l in labels)
        ]

    def _with_verdicts(self, verifier: str | None) -> Iterator[tuple[int, list, FinalVerdict]]:
        ids = [
            r[0]
            for r in self.read(
                "SELECT DISTINCT trajectory_id FROM final_verdicts ORDER BY trajectory_id"
            )
        ]
        for trajectory_id in ids:
            verdict = self.final_verdict(trajectory_id, verifier)
            if verdict is not None:
                yield trajectory_id, self.current_labels(trajectory_id), verdict

    def disagreements(self) -> list[tuple[int, int, CurrentLabel, list[LabelEvent]]]:
        """Steps whose annotators' latest labels disagree:
        ``(trajectory_id, step index, label, events)``."""
        rows = self.read(
            "SELECT e.step_id, g.trajectory_id, s.idx FROM label_events e JOIN steps s ON s.id = "
            "e.step_id JOIN segmentations g ON g.id = s.segmentation_id GROUP BY e.step_id, "
            "g.trajectory_id, s.idx HAVING count(DISTINCT e.annotator_kind || ':' || "
            "e.annotator_id) > 1 ORDER BY e.step_id"
        )
        found = []
        for step_id, trajectory_id, index in rows:
            events = self.events(step_id)
            label = resolve_rows(
                step_id,
                [
                    (
                        e.id,
                        e.value,
                        e.value_kind,
                        e.annotator_kind,
                        e.annotator_id,
                        e.rollouts,
                        e.solved,
                    )
                    for e in events
                ],
            )
            if label is not None and label.disagreement:
                found.append((trajectory_id, index, label, events))
        return found

    def stats(self) -> dict[str, Any]:
        """Counts of problems, trajectories, steps and label events (by annotator kind and
        value)."""
        counts = {
            table: self.read(f"SELECT count(*) FROM {table}")[0][0]
            for table in (
                "problems",
                "trajectories",
                "segmentations",
                "steps",
                "label_events",
                "final_verdicts",
            )
        }
        by_kind = self.read(
            "SELECT annotator_kind, value_kind, value, count(*) FROM label_events "
            "WHERE value_kind <> 'soft' GROUP BY annotator_kind, value_kind, value "
            "ORDER BY annotator_kind, value_kind, value"
        )
        soft = self.read(
            "SELECT annotator_kind, count(*), avg(value) FROM label_events WHERE value_kind = "
            "'soft' GROUP BY annotator_kind ORDER BY annotator_kind"
        )
        imports = self.read(
            "SELECT source_name, format, count(*), max(last_line), sum(steps) FROM imports "
            "GROUP BY source_hash, source_name, format ORDER BY source_name"
        )
        return {
            **counts,
            "schema_version": self.schema_version,
            "labels": [
                {"annotator_kind": k, "value_kind": vk, "value": v, "count": n}
                for k, vk, v, n in by_kind
            ],
            "soft_labels": [{"annotator_kind": k, "count": n, "mean": m} for k, n, m in soft],
            "imports": [
                {"source": s, "format": f, "batches": b, "last_line": l, "steps": n}
                for s, f, b, l, n in imports
            ],
        }


def first_wrong(labels: Sequence[CurrentLabel | None]) -> int:
    """ProcessBench's label: index of the first -1 in ``labels``, else -1."""
    for index, label in enumerate(labels):
        if label is not None and label.value < 0:
            return index
    return -1


def _with(event: LabelEvent, **changes: Any) -> LabelEvent:
    return replace(event, **changes)


def _event_row(e: LabelEvent) -> tuple:
    return (
        e.id,
        e.step_id,
        float(e.value),
        e.value_kind,
        e.annotator_kind,
        e.annotator_id,
        e.rationale,
        e.error_type,
        e.rollouts,
        e.solved,
        e.created_at,
        to_json(dict(e.meta)) if e.meta else None,
        e.dedupe_key,
        None,
    )


def _event_from_row(r: tuple) -> LabelEvent:
    value = r[2] if r[3] == "soft" else int(r[2])
    meta = {**(json.loads(r[13]) if r[13] else {}), **(json.loads(r[11]) if r[11] else {})}
    return LabelEvent(
        step_id=r[1],
        value=value,
        value_kind=r[3],
        annotator_kind=r[4],
        annotator_id=r[5],
        rationale=r[6],
        error_type=r[7],
        rollouts=r[8],
        solved=r[9],
        created_at=r[10],
        meta=meta,
        dedupe_key=r[12],
        id=r[0],
    )


def open_store(path: str | Path, **options: Any) -> PrmStore:
    """Open (or create) a store; same as :class:`PrmStore`.

    >>> import tempfile, os
    >>> open_store(os.path.join(tempfile.mkdtemp(), "p.db")).schema_version >= 2
    True
    """
    return PrmStore(path, **options)


__all__ = [
    "PrmStore",
    "open_store",
    "now",
    "problem_hash",
    "trajectory_hash",
    "dedupe_base",
    "first_wrong",
    "PrmError",
]
