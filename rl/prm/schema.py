"""The store's schema as forward-only migrations, and the code that applies them.

Version ``N`` of the schema is migrations ``1..N`` applied in order; each runs in the same
transaction as the bump of ``meta.schema_version``, so a crash leaves the old or the new
version, never half of one. A database newer than :data:`SCHEMA_VERSION` is refused.

Portability (PostgreSQL: :mod:`rl.prm.postgres` translates these statements): only standard types
(``INTEGER``/``BIGINT``, ``TEXT``, ``DOUBLE PRECISION``); JSON is stored as ``TEXT``; times as
ISO-8601 UTC ``TEXT``; upserts use ``ON CONFLICT ... DO NOTHING`` (both engines); no
``WITHOUT ROWID``, no ``INSERT OR``, no ``GLOB``, no ``AUTOINCREMENT``. Ids are assigned by the
writer inside its write transaction (``max(id) + 1``); on PostgreSQL the write transaction holds an
advisory lock for that. The one type to translate is ``INTEGER PRIMARY KEY`` (SQLite's rowid alias,
64-bit) -> ``BIGINT PRIMARY KEY``; foreign keys to it become ``BIGINT``.

>>> SCHEMA_VERSION >= 3
True
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .errors import SchemaVersionError

_V1 = [
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE problems (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        gold_answer TEXT,
        source TEXT,
        licence TEXT,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE trajectories (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        problem_id BIGINT NOT NULL REFERENCES problems(id),
        raw_text TEXT NOT NULL,
        generator TEXT NOT NULL,
        sampling_json TEXT NOT NULL,
        final_answer TEXT,
        parent_id BIGINT REFERENCES trajectories(id),
        branch_step INTEGER,
        meta_json TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX trajectories_problem ON trajectories(problem_id)",
    """CREATE TABLE segmentations (
        id INTEGER PRIMARY KEY,
        trajectory_id BIGINT NOT NULL REFERENCES trajectories(id),
        method TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (trajectory_id, method, version))""",
    """CREATE TABLE steps (
        id INTEGER PRIMARY KEY,
        segmentation_id BIGINT NOT NULL REFERENCES segmentations(id),
        idx INTEGER NOT NULL,
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL,
        UNIQUE (segmentation_id, idx))""",
    """CREATE TABLE label_sessions (
        id INTEGER PRIMARY KEY,
        annotator_kind TEXT NOT NULL,
        annotator_id TEXT NOT NULL,
        source TEXT,
        started_at TEXT,
        meta_json TEXT NOT NULL)""",
    """CREATE TABLE label_events (
        id INTEGER PRIMARY KEY,
        step_id BIGINT NOT NULL REFERENCES steps(id),
        value DOUBLE PRECISION NOT NULL,
        value_kind TEXT NOT NULL,
        annotator_kind TEXT NOT NULL,
        annotator_id TEXT NOT NULL,
        rationale TEXT,
        error_type TEXT,
        rollouts INTEGER,
        solved INTEGER,
        created_at TEXT NOT NULL,
        meta_json TEXT,
        dedupe_key BIGINT UNIQUE,
        session_id INTEGER REFERENCES label_sessions(id))""",
    "CREATE INDEX label_events_step ON label_events(step_id)",
    # Append-only and immutable by construction, not only by convention. (PostgreSQL: the same
    # as plpgsql triggers, or REVOKE UPDATE, DELETE from the application role.)
    """CREATE TRIGGER label_events_append_only BEFORE UPDATE ON label_events
        BEGIN SELECT RAISE(ABORT, 'label events are append-only: add a new event instead'); END""",
    """CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events
        BEGIN SELECT RAISE(ABORT, 'label events are append-only: add a new event instead'); END""",
    # One statement, split to fit the line limit (the same text as a triple-quoted literal).
    "CREATE TRIGGER trajectories_immutable_text BEFORE UPDATE OF raw_text, problem_id, generator"
    " ON trajectories\n        "
    "BEGIN SELECT RAISE(ABORT, 'a trajectory is immutable: add a new trajectory instead'); END",
    """CREATE TABLE imports (
        source_hash TEXT NOT NULL,
        batch_no INTEGER NOT NULL,
        source_name TEXT NOT NULL,
        format TEXT NOT NULL,
        first_line INTEGER NOT NULL,
        last_line INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        committed_at TEXT NOT NULL,
        PRIMARY KEY (source_hash, batch_no))""",
]

# v2: final verdicts live in their own table, so that grading a trajectory again with a newer
# verifier version adds a row instead of rewriting the (immutable) trajectory.
_V2 = [
    """CREATE TABLE final_verdicts (
        trajectory_id BIGINT NOT NULL REFERENCES trajectories(id),
        verifier TEXT NOT NULL,
        status TEXT NOT NULL,
        score DOUBLE PRECISION,
        final_answer TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (trajectory_id, verifier))""",
]

# v3 (import speed): label events are deduplicated per step, ``UNIQUE (step_id, dedupe_key)``,
# instead of by a global ``dedupe_key UNIQUE``. An imported event's key already names its source
# line, branch and step, and re-importing a line resolves to the same (content-keyed) step, so the
# guarantee is the same; but this one index also serves every "events of step X" lookup (it
# replaces ``label_events_step``), and new events land at its right-hand end (step ids grow)
# instead of at random positions of a 62-bit hash index: one index instead of two, appended to.
# SQLite cannot drop a column constraint, so the table is rebuilt (create, copy, drop, rename:
# plain SQL that PostgreSQL runs as well); its triggers go with the old table and are re-created.
_V3 = [
    """CREATE TABLE label_events_v3 (
        id INTEGER PRIMARY KEY,
        step_id BIGINT NOT NULL REFERENCES steps(id),
        value DOUBLE PRECISION NOT NULL,
        value_kind TEXT NOT NULL,
        annotator_kind TEXT NOT NULL,
        annotator_id TEXT NOT NULL,
        rationale TEXT,
        error_type TEXT,
        rollouts INTEGER,
        solved INTEGER,
        created_at TEXT NOT NULL,
        meta_json TEXT,
        dedupe_key BIGINT,
        session_id INTEGER REFERENCES label_sessions(id),
        UNIQUE (step_id, dedupe_key))""",
    """INSERT INTO label_events_v3 (id, step_id, value, value_kind, annotator_kind, annotator_id,
        rationale, error_type, rollouts, solved, created_at, meta_json, dedupe_key, session_id)
        SELECT id, step_id, value, value_kind, annotator_kind, annotator_id, rationale, error_type,
        rollouts, solved, created_at, meta_json, dedupe_key, session_id FROM label_events
        ORDER BY id""",
    "DROP TABLE label_events",
    "ALTER TABLE label_events_v3 RENAME TO label_events",
    _V1[9],  # label_events_append_only
    _V1[10],  # label_events_no_delete
]
assert all("label_events" in s and "TRIGGER" in s for s in _V3[-2:])

#: Migration ``i`` (1-based) brings the schema from version ``i - 1`` to ``i``.
MIGRATIONS: tuple[tuple[str, ...], ...] = (tuple(_V1), tuple(_V2), tuple(_V3))

#: The version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def migrations_for(conn: Any) -> tuple[tuple[str, ...], ...]:
    """The migrations in ``conn``'s dialect: :data:`MIGRATIONS` for SQLite, translated for
    PostgreSQL."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        global _PG_MIGRATIONS
        if _PG_MIGRATIONS is None:
            from .postgres import translate_migrations

            _PG_MIGRATIONS = translate_migrations(MIGRATIONS)
        return _PG_MIGRATIONS
    return MIGRATIONS


_PG_MIGRATIONS: tuple[tuple[str, ...], ...] | None = None


def begin_write(conn: Any) -> None:
    """Open a write transaction holding the store's write lock (SQLite: ``BEGIN IMMEDIATE``)."""
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.begin_write()


def current_version(conn: Any) -> int:
    """The schema version recorded in ``conn`` (0 for an empty database)."""
    if isinstance(conn, sqlite3.Connection):
        has_meta = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()[0]
    else:
        has_meta = conn.has_table("meta")
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Any, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to ``target`` in one transaction; return the new version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). An up-to-date database is
    only read (no write lock is taken), so opening a store never waits for other writers.
    """
    version = current_version(conn)
    _refuse_newer(version)
    if version >= target:
        return version
    begin_write(conn)
    try:
        version = current_version(conn)
        _refuse_newer(version)
        for number in range(version + 1, target + 1):
            for statement in migrations_for(conn)[number - 1]:
                conn.execute(statement)
        if target > version:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(target),),
            )
        conn.execute("COMMIT")
        return max(version, target)
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"database schema version {version} is newer than this rlvr understands "
            f"({SCHEMA_VERSION}); upgrade rlvr to open it"
        )
