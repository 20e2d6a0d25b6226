"""Four annotator processes write label events at once: nothing is lost, no 'database is locked'
surfaces."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rl.prm.store import PrmStore

ROOT = Path(__file__).resolve().parents[3]

WRITER = r"""
import sys, time
from rl.prm.store import PrmStore
path, who, start, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
# A tiny busy timeout (SQLite) / lock_timeout (PostgreSQL) forces lock contention through the
# store's own bounded retry.
store = PrmStore(path, busy_timeout_s=0.001, retry_s=60)
steps = [s.id for s in store.steps(1)]
while time.time() < start:
    time.sleep(0.005)
for i in range(count):
    value = (-1, 0, 1)[(i + int(who[-1])) % 3]
    store.label(steps[i % len(steps)], value, annotator_kind="human", annotator_id=who,
                rationale=f"event {i}")
print(f"{who} retries={store.retries}")
"""


def test_four_writers_lose_nothing(store_url):
    path = store_url  # a SQLite file or a PostgreSQL schema (conftest.py)
    store = PrmStore(path)
    t = store.add_trajectory(store.add_problem("q", gold_answer="1").id, "a\nb\nc\nd\ne")
    store.add_segmentation(t.id)
    count, start = 150, time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"annotator-{n}", str(start), str(count)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    print("".join(out for out, _ in outputs))  # retries per writer, for the log
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "locked" not in err and "retries=" in out
    total = store.read(
        "SELECT annotator_id, count(*), count(DISTINCT rationale) FROM label_events "
        "GROUP BY annotator_id ORDER BY annotator_id"
    )
    assert total == [(f"annotator-{n}", count, count) for n in range(4)]
    assert store.integrity_check() == "ok"
    assert len(store.disagreements()) == 5  # annotators end on different values per step


IMPORTER = r"""
import sys
from rl.prm.importers import import_file
from rl.prm.store import PrmStore
store = PrmStore(sys.argv[1], retry_s=120)
report = import_file(store, sys.argv[2], "prm800k", batch_lines=50)
print(f"batches={report.batches_committed}")
"""


def test_two_processes_importing_the_same_file_store_it_once(store_url, tmp_path):
    from test_prm_crash import STEPS, write_input

    data = tmp_path / "shared.jsonl"
    write_input(data, lines=1000)
    PrmStore(store_url).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", IMPORTER, store_url, str(data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    committed = sum(int(out.split("batches=")[1]) for out, _ in outputs)
    store = PrmStore(store_url)
    stats = store.stats()
    # each batch once
    assert committed == 1000 // 50 == len(store.read("SELECT batch_no FROM imports"))
    assert (stats["trajectories"], stats["steps"], stats["label_events"]) == (
        1000,
        1000 * STEPS,
        1000 * STEPS,
    )
