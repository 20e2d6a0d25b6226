"""The fast import paths: one parse (spooled rows), parallel validation, the narrow event insert,
and schema v3 (label events deduplicated per step)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import rl.prm.spool as spool_module
from rl.prm.errors import ImportFormatError, PrmError
from rl.prm.importers import import_file
from rl.prm.records import LabelEvent
from rl.prm.schema import SCHEMA_VERSION
from rl.prm.spool import run_forked, split_lines
from rl.prm.store import PrmStore

PRM800K = Path(__file__).resolve().parents[2] / "fixtures" / "prm" / "prm800k_sample.jsonl"


def snapshot(store: PrmStore) -> dict:
    """Everything an import writes, minus creation times of the run."""
    return {
        "problems": store.read(
            "SELECT id, hash, text, gold_answer, source, licence FROM problems ORDER BY id"
        ),
        "trajectories": store.read(
            "SELECT id, hash, problem_id, raw_text, final_answer, parent_id, branch_step, "
            "meta_json FROM trajectories ORDER BY id"
        ),
        "steps": store.read("SELECT * FROM steps ORDER BY id"),
        "events": store.read(
            "SELECT id, step_id, value, value_kind, annotator_kind, annotator_id, rationale, "
            "error_type, rollouts, solved, created_at, meta_json, dedupe_key, session_id "
            "FROM label_events ORDER BY id"
        ),
        "sessions": store.read("SELECT * FROM label_sessions ORDER BY id"),
        "imports": store.read(
            "SELECT batch_no, first_line, last_line, steps FROM imports ORDER BY batch_no"
        ),
    }


@pytest.fixture
def big_file(tmp_path) -> Path:
    """The PRM800K sample (main paths, alternatives, human completions, flags) repeated 40 times."""
    lines = PRM800K.read_text().splitlines()
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines * 40) + "\n")
    return path


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(spool_module, "MIN_PART_BYTES", 1)


@pytest.mark.parametrize("workers", [1, 3])
def test_spooled_import_writes_what_the_streaming_import_writes(
    tmp_path, big_file, small_parts, workers
):
    with PrmStore(tmp_path / "stream.db") as streamed, PrmStore(tmp_path / "spool.db") as spooled:
        import_file(streamed, big_file, batch_lines=7, validate_first=False)
        report = import_file(spooled, big_file, batch_lines=7, workers=workers)
        assert (report.lines, report.batches_committed) == (120, 18)
        assert snapshot(spooled) == snapshot(streamed)
        assert spooled.read("PRAGMA foreign_key_check") == [] and spooled.integrity_check() == "ok"
        assert spooled.read("PRAGMA wal_autocheckpoint")[0][0] == 1000  # bulk setting restored


def test_parallel_validation_resumes_without_duplicates(tmp_path, big_file, small_parts):
    with PrmStore(tmp_path / "p.db") as store:

        def stop_after_two(mark):
            if mark.batch_no == 1:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            import_file(store, big_file, batch_lines=10, workers=2, on_batch=stop_after_two)
        resumed = import_file(store, big_file, batch_lines=10, workers=2)
        assert (resumed.resumed_after_line, resumed.batches_committed) == (20, 10)
        again = import_file(store, big_file, batch_lines=10, workers=2)
        assert again.batches_committed == 0
        with PrmStore(tmp_path / "once.db") as once:
            import_file(once, big_file, batch_lines=10)
            assert snapshot(store)["events"] == snapshot(once)["events"]


def test_parallel_validation_names_the_first_bad_line_and_writes_nothing(
    tmp_path, big_file, small_parts
):
    lines = big_file.read_text().splitlines()
    lines[100] = "[1, 2]"
    lines[7] = '{"question": {}}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with PrmStore(tmp_path / "p.db") as store:
        with pytest.raises(ImportFormatError, match=r"bad\.jsonl:8: missing field 'label'"):
            import_file(store, bad, workers=4)
        assert (
            store.stats()["trajectories"] == 0
            and store.read("SELECT count(*) FROM imports")[0][0] == 0
        )


def test_workers_must_be_positive(tmp_path):
    with PrmStore(tmp_path / "p.db") as store:
        with pytest.raises(PrmError, match="workers must be >= 1, got 0"):
            import_file(store, PRM800K, workers=0)


def test_split_lines_covers_every_line_once(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"".join(b"x" * (n % 7 + 1) + b"\n" for n in range(50)))
    parts = split_lines(path, 4, min_bytes=1)
    assert len(parts) == 4 and parts[0][0] == 0 and parts[-1][1] is None
    data = path.read_bytes()
    for (start, end, line), following in zip(parts, parts[1:] + [(None, None, 51)]):
        chunk = data[start:end]
        assert chunk.endswith(b"\n") and (start == 0 or data[start - 1 : start] == b"\n")
        assert line + chunk.count(b"\n") == following[2]
    assert split_lines(path, 4) == [(0, None, 1)]  # small file: one part


def _explode(kind: str) -> int:
    if kind == "value":
        raise ValueError("bad part")
    return 7


def test_run_forked_returns_results_and_reraises_errors():
    assert run_forked(_explode, [("ok",), ("ok",)]) == [7, 7]
    with pytest.raises(ValueError, match="bad part"):
        run_forked(_explode, [("ok",), ("value",)])


def test_schema_v3_migration_keeps_events_and_dedupes_per_step(tmp_path):
    path = tmp_path / "old.db"
    old = PrmStore(path, schema_version=2)
    t = old.add_trajectory(old.add_problem("p").id, "a\nb")
    first, second = old.add_segmentation(t.id)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO label_events (id, step_id, value, value_kind, annotator_kind, annotator_id, "
        "created_at, dedupe_key) VALUES (?, ?, ?, 'ternary', 'human', 'alice', 't', ?)",
        [(1, first.id, 1, 5), (2, second.id, -1, 6)],
    )
    conn.commit()
    conn.close()
    old.close()
    with PrmStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 3
        assert [(e.id, e.value, e.dedupe_key) for e in store.events(second.id)] == [(2, -1, 6)]
        store.add_labels(
            [
                LabelEvent(
                    step_id=second.id,
                    value=1,
                    annotator_kind="human",
                    annotator_id="bob",
                    dedupe_key=6,
                ),  # same key, same step: skipped
                LabelEvent(
                    step_id=first.id,
                    value=0,
                    annotator_kind="human",
                    annotator_id="bob",
                    dedupe_key=6,
                ),
            ]
        )  # same key, other step: kept
        assert [e.dedupe_key for e in store.events(first.id)] == [5, 6]
        assert [e.annotator_id for e in store.events(second.id)] == ["alice"]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._conn.execute("UPDATE label_events SET value = 0")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._conn.execute("DELETE FROM label_events")
        assert store.integrity_check() == "ok" and store.read("PRAGMA foreign_key_check") == []


def test_parallel_validation_reports_progress_for_every_line(tmp_path, big_file, small_parts):
    seen = []
    with PrmStore(tmp_path / "p.db") as store:
        import_file(store, big_file, workers=2, progress=seen.append)
    assert sum(seen) == 2 * 120  # validation and writing each count every line once
