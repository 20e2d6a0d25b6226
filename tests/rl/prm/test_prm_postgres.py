"""What only the PostgreSQL backend has to show (the shared suite runs on both backends through
``store_url``): the database itself refuses rewrites after a migration, the translated schema,
the advisory write lock across processes, and the error naming the extra when psycopg is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rl.prm.postgres import translate_ddl, translate_migrations
from rl.prm.schema import MIGRATIONS, SCHEMA_VERSION
from rl.prm.store import PrmStore

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def pg_url(pg_server):
    return pg_server.new_schema()


def test_migrating_v1_to_latest_keeps_events_append_only_in_the_database(pg_url):
    import psycopg

    old = PrmStore(pg_url, schema_version=1)
    t = old.add_trajectory(old.add_problem("p", gold_answer="1").id, "a\nb")
    steps = old.add_segmentation(t.id)
    old.close()
    # a v1 event, as v1 code wrote it (global key)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO label_events (id, step_id, value, value_kind, annotator_kind, "
            "annotator_id, created_at, dedupe_key) VALUES (1, %s, 1, 'ternary', 'human', 'ann', "
            "'then', 7)",
            (steps[0].id,),
        )
    new = PrmStore(pg_url)  # v2 (final_verdicts) and v3 (label_events rebuilt, triggers re-created)
    assert new.schema_version == SCHEMA_VERSION
    assert [(e.annotator_id, e.value) for e in new.events(steps[0].id)] == [("ann", 1)]
    # ids continue
    assert new.label(steps[1].id, -1, annotator_kind="human", annotator_id="ann").id == 2
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in (
            "UPDATE label_events SET value = 0",
            "DELETE FROM label_events WHERE id = 1",
            "TRUNCATE label_events",
        ):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
            conn.execute("UPDATE trajectories SET generator = 'other'")
        assert conn.execute("SELECT count(*) FROM label_events").fetchone()[0] == 2


def test_hash_prefix_lookup_does_not_depend_on_the_database_collation(pg_url):
    store = PrmStore(pg_url)
    t = store.add_trajectory(store.add_problem("p").id, "a")
    assert store.trajectory(t.hash.removeprefix("sha256:")[:8]).id == t.id
    assert dict(store.table_columns("problems"))["hash"] == "TEXT"


def test_schema_translation():
    assert translate_ddl("CREATE TABLE x (id INTEGER PRIMARY KEY, n INTEGER)") == [
        "CREATE TABLE x (id BIGINT PRIMARY KEY, n INTEGER)"
    ]
    translated = translate_migrations(MIGRATIONS)
    assert len(translated) == len(MIGRATIONS)
    assert not any("RAISE(ABORT" in s or "INTEGER PRIMARY KEY" in s for m in translated for s in m)
    assert sum("BEFORE TRUNCATE" in s for m in translated for s in m) == 2  # v1 and the v3 rebuild


WRITER = r"""
import sys
from rl.prm.store import PrmStore
store = PrmStore(sys.argv[1], busy_timeout_s=0.001)
problem = store.add_problem("shared problem", gold_answer="1")   # the same row from every process
for i in range(40):
    t = store.add_trajectory(problem.id, f"{sys.argv[2]} {i}\nstep", generator=sys.argv[2])
    for step in store.add_segmentation(t.id):
        store.label(step.id, 1, annotator_kind="human", annotator_id=sys.argv[2])
"""


def test_processes_adding_trajectories_steps_and_labels_at_once_collide_on_nothing(pg_url):
    PrmStore(pg_url).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, pg_url, f"w{n}"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    stats = PrmStore(pg_url).stats()
    assert (stats["problems"], stats["trajectories"], stats["steps"], stats["label_events"]) == (
        1,
        120,
        240,
        240,
    )


def test_missing_psycopg_names_the_extra(monkeypatch):
    from verifiers.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'rlvr\[postgres\]'"):
        PrmStore("postgresql:///nowhere?host=/nonexistent")


def test_importing_the_store_does_not_import_psycopg():
    code = "import sys, rl.prm, rl.prm.cli; print('psycopg' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
