"""SIGKILL in the middle of a large import: the database stays consistent and the import resumes
exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rl.prm.importers import import_file
from rl.prm.store import PrmStore

ROOT = Path(__file__).resolve().parents[3]
LINES, STEPS, BATCH = 6000, 10, 200

CHILD = r"""
import sys
from rl.prm.importers import import_file
from rl.prm.store import PrmStore
store = PrmStore(sys.argv[1])
import_file(store, sys.argv[2], "prm800k", batch_lines=int(sys.argv[3]),
            on_batch=lambda mark: print(f"BATCH {mark.batch_no} {mark.last_line}", flush=True))
print("DONE", flush=True)
"""


def write_input(path: Path, lines: int = LINES) -> None:
    with open(path, "w") as out:
        for n in range(lines):
            steps = [f"Line {n} step {k}: {n} + {k} = {n + k}." for k in range(STEPS)]
            row = {
                "labeler": f"l{n % 7}",
                "timestamp": "2023-01-01T00:00:00",
                "question": {
                    "problem": f"Problem {n % 300}",
                    "ground_truth_answer": str(n),
                    "pre_generated_steps": steps,
                },
                "label": {
                    "steps": [
                        {
                            "completions": [
                                {"text": s, "rating": (1, 0, -1)[k % 3], "flagged": None}
                            ],
                            "chosen_completion": 0,
                            "human_completion": None,
                        }
                        for k, s in enumerate(steps)
                    ],
                    "finish_reason": "solution",
                },
            }
            out.write(json.dumps(row) + "\n")


@pytest.mark.slow
def test_sigkill_mid_import_leaves_a_consistent_resumable_store(tmp_path, store_url):
    # a SQLite file or a PostgreSQL schema (conftest.py)
    data, db = (tmp_path / "big.jsonl", store_url)
    write_input(data)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(data), str(BATCH)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in child.stdout:
        seen.append(line.split())
        if len(seen) == 3:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert all(word[0] == "BATCH" for word in seen)

    store = PrmStore(db)
    assert store.integrity_check() == "ok"
    batches = store.read("SELECT batch_no, steps FROM imports ORDER BY batch_no")
    committed = [b for b, _ in batches]
    assert committed == list(range(len(committed))) and len(committed) >= 3
    assert len(committed) < LINES // BATCH, (
        "the import finished before the kill; make the input larger"
    )
    # every committed batch is there in full and nothing of an uncommitted one
    steps_in_batches = sum(s for _, s in batches)
    stats = store.stats()
    assert (
        stats["steps"]
        == stats["label_events"]
        == steps_in_batches
        == len(committed) * BATCH * STEPS
    )

    resumed = import_file(store, data, "prm800k", batch_lines=BATCH)
    assert resumed.resumed_after_line == len(committed) * BATCH
    stats = store.stats()
    assert (stats["trajectories"], stats["steps"], stats["label_events"]) == (
        LINES,
        LINES * STEPS,
        LINES * STEPS,
    )
    assert store.read("SELECT count(DISTINCT dedupe_key) FROM label_events")[0][0] == LINES * STEPS
    assert store.integrity_check() == "ok"
    if store.backend == "sqlite":  # PostgreSQL checks foreign keys on every write
        assert store.read("PRAGMA foreign_key_check") == []
