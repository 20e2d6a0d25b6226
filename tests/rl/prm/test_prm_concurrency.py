"""Four annotator processes write label events at once: nothing is lost, no 'database is locked' surfaces."""

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
# A tiny SQLite busy timeout forces lock contention through the store's own bounded retry.
store = PrmStore(path, busy_timeout_s=0.001, retry_s=60)
steps = [s.id for s in store.steps(1)]
while time.time() < start:
    time.sleep(0.005)
for i in range(count):
    store.label(steps[i % len(steps)], (-1, 0, 1)[(i + int(who[-1])) % 3], annotator_kind="human", annotator_id=who,
                rationale=f"event {i}")
print(f"{who} retries={store.retries}")
"""


def test_four_writers_lose_nothing(tmp_path):
    path = tmp_path / "prm.db"
    store = PrmStore(path)
    t = store.add_trajectory(store.add_problem("q", gold_answer="1").id, "a\nb\nc\nd\ne")
    store.add_segmentation(t.id)
    count, start = 150, time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"annotator-{n}", str(start), str(count)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(4)]
    outputs = [p.communicate(timeout=240) for p in procs]
    print("".join(out for out, _ in outputs))  # retries per writer, for the log
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "locked" not in err and "retries=" in out
    total = store.read("SELECT annotator_id, count(*), count(DISTINCT rationale) FROM label_events "
                       "GROUP BY annotator_id ORDER BY annotator_id")
    assert total == [(f"annotator-{n}", count, count) for n in range(4)]
    assert store.integrity_check() == "ok"
    assert len(store.disagreements()) == 5  # annotators end on different values per step
