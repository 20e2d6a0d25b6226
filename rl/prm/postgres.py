"""PostgreSQL backend of the PRM store: a connection adapter and the schema's dialect.

:class:`~rl.prm.store.PrmStore` opens this backend when its target is a ``postgresql://`` URL
(``PrmStore("postgresql:///prm?host=/run/postgresql")``, ``rlvr prm stats --db postgresql://...``).
The store, the bulk writer and the importers keep their SQL; :class:`PgConnection` speaks the
small part of :mod:`sqlite3`'s connection API they use (``execute`` / ``executemany`` with ``?``
placeholders, cursors with ``fetchone`` / ``fetchall``, ``in_transaction``), so both backends run
the same statements. What differs lives here:

* **Writers** take one transaction-scoped advisory lock (``pg_advisory_xact_lock``), the
  counterpart of SQLite's ``BEGIN IMMEDIATE``: ids are still assigned as ``max(id) + 1`` inside the
  write transaction, and writers from any number of processes or machines queue instead of
  colliding. ``lock_timeout`` bounds one wait; the store's bounded retry does the rest
  (:class:`~rl.prm.errors.StoreBusyError` after ``retry_s``). Readers never wait.
* **Schema**: ``INTEGER PRIMARY KEY`` becomes ``BIGINT PRIMARY KEY``; hashes use the ``"C"``
  collation (the store looks up hash prefixes by range); the immutability triggers are one plpgsql
  function that raises, attached ``BEFORE UPDATE``/``DELETE`` (and ``TRUNCATE``, which PostgreSQL
  would otherwise let through) - so a plain SQL client cannot rewrite label events either.
* **Bulk loads** turn ``synchronous_commit`` off for the session: a server crash may lose the last
  batches (with their ``imports`` rows, so a resumed import redoes exactly them), as SQLite's
  ``synchronous = NORMAL`` may; a killed client loses nothing committed.

``psycopg`` (3.x) is imported only here, when a PostgreSQL store is opened:
``pip install 'rlvr[postgres]'``.

>>> is_url("postgresql:///prm?host=/tmp"), is_url("prm.db")
(True, False)
>>> translate_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE)")
['CREATE TABLE t (id BIGINT PRIMARY KEY, hash TEXT COLLATE "C" NOT NULL UNIQUE)']
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

#: Advisory lock key that serialises the store's write transactions ("rlvrprm" in ASCII).
WRITE_LOCK_KEY = int.from_bytes(b"rlvrprm", "big")

_REFUSE_FUNCTION = """CREATE OR REPLACE FUNCTION rlvr_prm_refuse()
    RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation'; END $$"""
_SQLITE_TRIGGER = re.compile(
    r"CREATE TRIGGER (?P<name>\w+) (?P<when>BEFORE .+? ON (?P<table>\w+))\s+"
    r"BEGIN SELECT RAISE\(ABORT, '(?P<message>[^']*)'\); END",
    re.S,
)


def is_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a SQLite file."""
    return str(target).startswith(("postgresql://", "postgres://"))


def translate_ddl(statement: str) -> list[str]:
    """The PostgreSQL statements for one statement of :data:`rl.prm.schema.MIGRATIONS`."""
    trigger = _SQLITE_TRIGGER.fullmatch(statement.strip())
    if trigger is not None:
        name, when, table, message = trigger.group("name", "when", "table", "message")
        found = [
            f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION "
            f"rlvr_prm_refuse('{message}')"
        ]
        if when.startswith("BEFORE DELETE"):  # TRUNCATE skips row triggers: refuse it as well
            found.append(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION rlvr_prm_refuse('{message}')"
            )
        return found
    statement = statement.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY")
    return [statement.replace("hash TEXT NOT NULL UNIQUE", 'hash TEXT COLLATE "C" NOT NULL UNIQUE')]


def translate_migrations(migrations: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """:data:`rl.prm.schema.MIGRATIONS` for PostgreSQL (migration 1 first creates the trigger
    function)."""
    out = []
    for number, statements in enumerate(migrations, start=1):
        translated = [_REFUSE_FUNCTION] if number == 1 else []
        for statement in statements:
            translated += translate_ddl(statement)
        out.append(tuple(translated))
    return tuple(out)


# ``INSERT INTO t (a, b) VALUES (?,?) [ON CONFLICT (...) DO NOTHING]``: the bulk writer's
# statements.
_PLAIN_INSERT = re.compile(
    r"INSERT INTO (?P<table>\w+) \((?P<columns>[\w, ]+)\)\s+VALUES \([?, ]+\)\s*"
    r"(?P<conflict>ON CONFLICT \([\w, ]+\) DO NOTHING)?",
    re.S,
)
_COPY_FROM_ROWS = 64  # fewer rows: executemany (COPY's setup costs more than it saves)


def _placeholders(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` escaped); the store's SQL has no
    ``?`` in strings."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection behind the subset of :class:`sqlite3.Connection` the store uses.

    Autocommit, with explicit ``BEGIN``/``COMMIT`` as the store issues them (as sqlite3 with
    ``isolation_level=None``). ``streaming=True`` runs each query through a server-side cursor
    (for exports over a snapshot; only inside a transaction).

    Args:
        url: libpq connection URL (``postgresql://user@host/db`` or
            ``postgresql:///db?host=/socket/dir``).
        lock_timeout_s: longest single wait for a lock (the write lock included); 0 waits forever.
        streaming: server-side cursors for queries.
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, lock_timeout_s: float = 5.0, streaming: bool = False) -> None:
        from rl.errors import require

        psycopg = require("psycopg", "postgres")
        self.errors = psycopg.errors
        self._conn = psycopg.connect(url, autocommit=True)
        self._conn.execute(
            f"SET lock_timeout = {max(1, int(lock_timeout_s * 1000)) if lock_timeout_s else 0}"
        )
        self._conn.execute("SET client_min_messages = warning")  # no NOTICE chatter from IF EXISTS
        self._streaming = streaming
        self._cursors = 0
        self._sql: dict[str, str] = {}

    def _translate(self, sql: str) -> str:
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = _placeholders(sql)
        return found

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor (``fetchone``, ``fetchall``, ``fetchmany``,
        iteration)."""
        if self._streaming and sql.lstrip()[:6].upper() == "SELECT":
            self._cursors += 1
            cursor = self._conn.cursor(name=f"rlvr_prm_{self._cursors}")
        else:
            cursor = self._conn.cursor()
        cursor.execute(self._translate(sql), tuple(params))
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per row: an ``INSERT ... VALUES`` of many rows through ``COPY`` (see
        :meth:`_copy_insert`), anything else pipelined by psycopg."""
        rows = list(rows)
        if not rows:
            return
        insert = _PLAIN_INSERT.fullmatch(sql.strip()) if len(rows) >= _COPY_FROM_ROWS else None
        if insert is None:
            self._conn.cursor().executemany(self._translate(sql), rows)
        else:
            self._copy_insert(
                insert.group("table"), insert.group("columns"), insert.group("conflict"), rows
            )

    def _copy_insert(self, table: str, columns: str, conflict: str | None, rows: list) -> None:
        """``COPY`` the rows in: straight into ``table``, or, with an ``ON CONFLICT`` clause, into a
        temporary stage whose rows are then inserted with that clause (so the dedupe keys still
        apply). Three to four times less client time than one ``INSERT`` per row."""
        target = table
        if conflict:
            target = f"rlvr_stage_{table}"
            self._conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {target} (LIKE {table})")
        with self._conn.cursor().copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if conflict:
            self._conn.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target} {conflict}"
            )
            self._conn.execute(f"TRUNCATE {target}")

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (also one aborted by an error, which needs a ROLLBACK)."""
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def begin_write(self) -> None:
        """``BEGIN`` and take the store's write lock (released at COMMIT/ROLLBACK)."""
        self._conn.execute("BEGIN")
        try:
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        except BaseException:  # e.g. lock_timeout: leave no aborted transaction behind
            self._conn.execute("ROLLBACK")
            raise

    def has_table(self, name: str) -> bool:
        """Whether ``name`` is a table on the search path."""
        return self._conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        """``(name, SQL type)`` of each column, in order (the Parquet exporter's type lookup)."""
        rows = self._conn.execute(
            "SELECT column_name, upper(data_type) FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        )
        return [tuple(r) for r in rows.fetchall()]

    def is_busy(self, exc: BaseException) -> bool:
        """Whether ``exc`` means "try the transaction again" (lock wait timed out, serialisation,
        deadlock)."""
        e = self.errors
        return isinstance(exc, (e.LockNotAvailable, e.SerializationFailure, e.DeadlockDetected))

    def set_bulk(self, on: bool) -> None:
        """``synchronous_commit`` off while bulk loading (see the module docstring), back on after;
        after, ``ANALYZE`` too: planned on the statistics of a near-empty table, "the events of one
        segmentation" scans every event (4.6 ms at 50k events instead of 0.05)."""
        self._conn.execute(f"SET synchronous_commit = {'off' if on else 'on'}")
        if not on:
            self._conn.execute("ANALYZE problems, trajectories, segmentations, steps, label_events")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


__all__ = ["PgConnection", "WRITE_LOCK_KEY", "is_url", "translate_ddl", "translate_migrations"]
