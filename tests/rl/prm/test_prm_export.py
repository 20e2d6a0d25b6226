"""Exporters: TRL stepwise (neutral policy), ProcessBench, JSONL, Parquet, manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.prm.errors import ExportPolicyError, PrmError
from rl.prm.exporters import export, export_processbench, export_trl, full_document
from rl.prm.importers import import_file
from rl.prm.store import PrmStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prm"


@pytest.fixture
def store(store_url):
    """One trajectory labelled +1, 0, -1 and one unlabelled step (SQLite and PostgreSQL,
    conftest.py)."""
    with PrmStore(store_url) as s:
        t = s.add_trajectory(
            s.add_problem("Compute 2 * 3 + 1.", gold_answer="7").id,
            "2 * 3 = 6.\nLet us think.\n6 + 1 = 8.\nThe answer is 8.",
            generator="g",
        )
        for step, value in zip(s.add_segmentation(t.id), (1, 0, -1)):
            s.label(step.id, value, annotator_kind="human", annotator_id="a")
        yield s


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


NEUTRAL_TABLE = [
    ("true", ["2 * 3 = 6.", "Let us think.", "6 + 1 = 8."], [True, True, False]),
    ("false", ["2 * 3 = 6.", "Let us think.", "6 + 1 = 8."], [True, False, False]),
    ("truncate", ["2 * 3 = 6."], [True]),
    ("exclude_step", ["2 * 3 = 6.", "6 + 1 = 8."], [True, False]),
]


@pytest.mark.parametrize("neutral, completions, labels", NEUTRAL_TABLE)
def test_trl_neutral_policies(tmp_path, store, neutral, completions, labels):
    out = tmp_path / "trl.jsonl"
    report = export_trl(store, out, neutral=neutral)
    assert read_jsonl(out) == [
        {"prompt": "Compute 2 * 3 + 1.", "completions": completions, "labels": labels}
    ]
    manifest = json.loads((tmp_path / "trl.jsonl.manifest.json").read_text())
    assert manifest["policy"]["neutral"] == neutral and manifest["rows"] == report.rows == 1


def test_trl_soft_monte_carlo_labels_become_bools(tmp_path, store_url):
    store = PrmStore(store_url)
    t = store.add_trajectory(store.add_problem("q", gold_answer="1").id, "a\nb")
    for step, solved in zip(store.add_segmentation(t.id), (3, 0)):
        store.label(
            step.id,
            solved / 4,
            value_kind="soft",
            annotator_kind="monte_carlo",
            annotator_id="hf:tiny",
            rollouts=4,
            solved=solved,
        )
    export_trl(store, tmp_path / "trl.jsonl")
    assert read_jsonl(tmp_path / "trl.jsonl")[0]["labels"] == [True, False]


def test_trl_neutral_error_names_the_step(tmp_path, store):
    with pytest.raises(ExportPolicyError, match="step 1 has a neutral \\(0\\) label"):
        export_trl(store, tmp_path / "trl.jsonl", neutral="error")


def test_trl_unknown_policy(tmp_path, store):
    with pytest.raises(PrmError, match="neutral='maybe'"):
        export_trl(store, tmp_path / "x.jsonl", neutral="maybe")


def test_trl_unlabelled_drop(tmp_path, store):
    report = export_trl(store, tmp_path / "trl.jsonl", unlabelled="drop")
    assert report.rows == 0 and report.skipped == {"unlabelled_step": 1}


def test_trl_output_loads_as_a_stepwise_dataset(tmp_path, store):
    datasets = pytest.importorskip("datasets", reason="datasets is part of rlvr[hf]")
    out = tmp_path / "trl.jsonl"
    export_trl(store, out)
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert ds.features["labels"].feature.dtype == "bool"
    assert ds.features["completions"].feature.dtype == "string"
    assert ds[0]["labels"] == [True, True, False]


def test_processbench_first_wrong_step_and_final_answer(tmp_path, store):
    store.record_verdict(1, verifier="math@1", status="fail", final_answer="8")
    out = tmp_path / "pb.jsonl"
    export_processbench(store, out)
    (row,) = read_jsonl(out)
    assert row["label"] == 2 and row["final_answer_correct"] is False and len(row["steps"]) == 4
    assert row["id"].startswith("sha256:") and row["generator"] == "g"


def test_processbench_all_correct_is_minus_one_and_unknown_prefix_is_skipped(tmp_path, store_url):
    store = PrmStore(store_url)
    p = store.add_problem("q")
    good = store.add_trajectory(p.id, "a\nb")
    for step in store.add_segmentation(good.id):
        store.label(step.id, 1, annotator_kind="human", annotator_id="a")
    gap = store.add_trajectory(p.id, "c\nd")
    store.label(store.add_segmentation(gap.id)[1].id, -1, annotator_kind="human", annotator_id="a")
    report = export_processbench(store, tmp_path / "pb.jsonl")
    rows = read_jsonl(tmp_path / "pb.jsonl")
    assert [r["label"] for r in rows] == [-1] and rows[0]["final_answer_correct"] is None
    assert report.skipped == {"unlabelled_step": 1}


def test_jsonl_and_parquet_hold_everything(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is part of rlvr[parquet]")
    store = PrmStore(tmp_path / "p.db")
    import_file(store, FIXTURES / "prm800k_sample.jsonl")
    stats = store.stats()
    export(store, tmp_path / "all.jsonl", "jsonl")
    docs = read_jsonl(tmp_path / "all.jsonl")
    assert len(docs) == stats["trajectories"]
    assert sum(len(s["events"]) for d in docs for s in d["steps"]) == stats["label_events"]
    assert docs[1]["trajectory"]["parent"] == docs[0]["trajectory"]["hash"]
    assert docs[0]["steps"][0]["current"]["disagreement"] is True
    store.record_verdict(1, verifier="math@1", status="fail", final_answer="12")
    export(store, tmp_path / "all.jsonl", "jsonl")
    assert read_jsonl(tmp_path / "all.jsonl") == [
        full_document(store, t) for t in store.trajectory_ids()
    ]
    export(store, tmp_path / "pq", "parquet")
    for table in ("problems", "trajectories", "steps", "label_events"):
        assert pq.read_table(tmp_path / "pq" / f"{table}.parquet").num_rows == stats[table]
    events = pq.read_table(tmp_path / "pq" / "label_events.parquet").to_pylist()
    assert {e["annotator_id"] for e in events} == {"labeler-a", "labeler-b", "labeler-c"}
    assert (tmp_path / "pq" / "manifest.json").exists()


def test_unknown_export_format(tmp_path, store):
    with pytest.raises(PrmError, match="unknown export format 'csv'"):
        export(store, tmp_path / "x", "csv")
