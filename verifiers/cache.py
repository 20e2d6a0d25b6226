"""Verdict caches keyed by ``(verifier@version, test_case_hash, input_hash)``.

Only judged verdicts (pass, fail, unparseable) are cached: a timeout or an infrastructure
error may go away on a retry, so it is never remembered.

>>> cache = MemoryCache()
>>> cache.get(("math@1", "sha256:a", "sha256:b")) is None
True
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from .verdict import Verdict

CacheKey = tuple[str, str, str]


class VerdictCache(Protocol):
    """Anything with ``get`` and ``put`` over :data:`CacheKey` s."""

    def get(self, key: CacheKey) -> Verdict | None: ...

    def put(self, key: CacheKey, verdict: Verdict) -> None: ...


class MemoryCache:
    """An in-process dict cache."""

    def __init__(self) -> None:
        self._data: dict[CacheKey, Verdict] = {}

    def get(self, key: CacheKey) -> Verdict | None:
        return self._data.get(key)

    def put(self, key: CacheKey, verdict: Verdict) -> None:
        if verdict.status.judged:
            self._data[key] = verdict

    def __len__(self) -> int:
        return len(self._data)


class SqliteCache:
    """A cache in one SQLite file, shared across runs and processes.

    >>> import tempfile, os
    >>> SqliteCache(os.path.join(tempfile.mkdtemp(), "verdicts.db")).get(("a@1", "x", "y")) is None
    True
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS verdicts (spec TEXT NOT NULL, test_case_hash TEXT NOT "
            "NULL, input_hash TEXT NOT NULL, verdict TEXT NOT NULL, PRIMARY KEY (spec, "
            "test_case_hash, input_hash))"
        )
        self._conn.commit()

    def get(self, key: CacheKey) -> Verdict | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT verdict FROM verdicts WHERE spec=? AND test_case_hash=? AND input_hash=?",
                key,
            ).fetchone()
        return None if row is None else Verdict.from_dict(json.loads(row[0]))

    def put(self, key: CacheKey, verdict: Verdict) -> None:
        if not verdict.status.judged:
            return
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", (*key, verdict.to_json())
            )
            self._conn.commit()

    def close(self) -> None:
        self._conn.close()
