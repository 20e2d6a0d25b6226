"""ProcessBench import: JSON arrays and JSONL, labels up to the first wrong step, verdicts, round
trip."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rl.prm.cli import add_commands
from rl.prm.errors import ImportFormatError
from rl.prm.exporters import export_processbench
from rl.prm.importers import import_file, is_json_array
from rl.prm.processbench import PROCESSBENCH_VERIFIER
from rl.prm.store import PrmStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prm"
SAMPLE = FIXTURES / "processbench_sample.json"
RECORDS = json.loads(SAMPLE.read_text())


@pytest.fixture
def store(tmp_path):
    with PrmStore(tmp_path / "prm.db") as s:
        yield s


def as_jsonl(tmp_path, records, name="records.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def by_record_id(store):
    return {store.trajectory(t).meta["processbench_id"]: t for t in store.trajectory_ids()}


def test_labels_stop_at_the_first_wrong_step(store):
    report = import_file(store, SAMPLE, "processbench")
    assert (report.lines, report.trajectories, report.steps, report.events) == (
        3,
        3,
        3 + 4 + 3,
        3 + 2 + 1,
    )
    ids = by_record_id(store)
    values = {
        rid: [None if l is None else l.value for l in store.current_labels(t)]
        for rid, t in ids.items()
    }
    assert values == {
        "demo-0": [1, 1, 1],
        "demo-1": [1, -1, None, None],
        "demo-2": [-1, None, None],
    }
    assert {rid: store.first_wrong_step(t) for rid, t in ids.items()} == {
        "demo-0": -1,
        "demo-1": 1,
        "demo-2": 0,
    }


def test_steps_generator_verdict_and_source(store):
    import_file(store, SAMPLE, "processbench")
    t = by_record_id(store)["demo-1"]
    trajectory = store.trajectory(t)
    assert [s.text for s in store.steps(t)] == RECORDS[1]["steps"]
    assert (
        trajectory.raw_text == "\n\n".join(RECORDS[1]["steps"])
        and trajectory.generator == "model-b"
    )
    verdict = store.final_verdict(t)
    assert (verdict.verifier, verdict.status, verdict.score) == (PROCESSBENCH_VERIFIER, "fail", 0.0)
    problem = store.problem(trajectory.problem_id)
    assert (problem.source, problem.gold_answer, store.stats()["problems"]) == (
        "ProcessBench/demo",
        None,
        2,
    )
    events = store.events(store.steps(t)[0].id)
    assert [(e.annotator_kind, e.annotator_id, e.value_kind) for e in events] == [
        ("human", "processbench", "ternary")
    ]
    assert store.read("PRAGMA foreign_key_check") == []


def test_export_gives_every_record_back(store, tmp_path):
    import_file(store, SAMPLE, "processbench")
    out = tmp_path / "pb.jsonl"
    assert export_processbench(store, out).rows == 3
    hashes = {store.trajectory(t).hash: rid for rid, t in by_record_id(store).items()}
    exported = {hashes[row.pop("id")]: row for row in map(json.loads, out.read_text().splitlines())}
    assert exported == {r["id"]: {k: v for k, v in r.items() if k != "id"} for r in RECORDS}


def test_json_and_jsonl_forms_import_once(store, tmp_path):
    import_file(store, SAMPLE, "processbench")
    before = store.stats()
    again = import_file(store, SAMPLE, "processbench")
    assert again.batches_committed == 0 and again.resumed_after_line == 3
    jsonl = import_file(store, as_jsonl(tmp_path, RECORDS), "processbench")
    assert jsonl.batches_committed == 1 and not is_json_array(tmp_path / "records.jsonl")
    after = store.stats()
    assert {
        k: after[k] for k in ("problems", "trajectories", "steps", "label_events", "final_verdicts")
    } == {
        k: before[k]
        for k in ("problems", "trajectories", "steps", "label_events", "final_verdicts")
    }


def test_an_interrupted_array_import_resumes(store, tmp_path):
    class Stop(Exception):
        pass

    def stop(mark):
        raise Stop

    with pytest.raises(Stop):
        import_file(store, SAMPLE, "processbench", batch_lines=1, on_batch=stop)
    assert store.stats()["imports"][0]["last_line"] == 1
    # (workers: not for arrays)
    resumed = import_file(store, SAMPLE, "processbench", batch_lines=1, workers=2)
    assert (
        resumed.resumed_after_line,
        resumed.batches_committed,
        store.stats()["trajectories"],
    ) == (1, 2, 3)
    direct = PrmStore(tmp_path / "direct.db")
    assert import_file(direct, SAMPLE, "processbench", validate_first=False).trajectories == 3
    assert direct.stats()["label_events"] == store.stats()["label_events"] == 6


def _with(index, **changes):
    records = json.loads(json.dumps(RECORDS))
    records[index].update(changes)
    return records


MALFORMED = [
    (_with(1, label=4), "label 4 is neither -1 \\(no wrong step\\) nor a step index \\(0..3\\)"),
    (_with(1, label=True), "label True is neither"),
    (_with(1, label="1"), "field 'label' should be a int"),
    (_with(1, steps=[]), "'steps' should be a non-empty list of non-empty strings"),
    (_with(1, steps=["a", ""]), "'steps' should be a non-empty list of non-empty strings"),
    (_with(1, final_answer_correct="yes"), "'final_answer_correct' should be true, false or null"),
    (_with(1, generator=""), "'generator' should be a non-empty string"),
    (
        [RECORDS[0], {k: v for k, v in RECORDS[1].items() if k != "id"}, RECORDS[2]],
        "missing field 'id'",
    ),
    ([RECORDS[0], ["not", "an", "object"], RECORDS[2]], "expected a JSON object, got list"),
]


@pytest.mark.parametrize("records, message", MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_a_malformed_record_is_named_and_nothing_is_stored(store, tmp_path, records, message):
    array = tmp_path / "bad.json"
    array.write_text(json.dumps(records, indent=2))
    with pytest.raises(ImportFormatError, match="record 2: .*" + message) as info:
        import_file(store, array, "processbench", batch_lines=1)
    lines = array.read_text().splitlines()
    # where record 2 starts
    assert info.value.line == [i for i, l in enumerate(lines, 1) if l in ("  {", "  [")][1]
    with pytest.raises(ImportFormatError, match=f"{tmp_path / 'bad.jsonl'}:2: .*" + message):
        import_file(store, as_jsonl(tmp_path, records, "bad.jsonl"), "processbench", batch_lines=1)
    stats = store.stats()
    assert (
        stats["trajectories"] == stats["label_events"] == stats["final_verdicts"] == 0
        and stats["imports"] == []
    )


GOOD = json.dumps(RECORDS[0])
BROKEN_ARRAYS = [
    (f"[\n  {GOOD}\n  {GOOD}\n]\n", 3, "not a JSON array \\(expected ',' or ']' after record 1\\)"),
    (f'[\n  {GOOD},\n  {{"id": \n', 4, "record 2: not valid JSON \\(Expecting value"),
    (f"[\n  {GOOD}\n", 3, "expected ',' or ']' after record 1"),
    (f"[{GOOD}]\n\n{GOOD}\n", 3, "extra data after the array"),
    (f"[{GOOD},]", 1, "record 2: not valid JSON"),
]


@pytest.mark.parametrize(
    "text, line, message", BROKEN_ARRAYS, ids=[m[2][:30] for m in BROKEN_ARRAYS]
)
def test_broken_array_syntax_names_the_line(store, tmp_path, text, line, message):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ImportFormatError, match=message) as info:
        import_file(store, path, "processbench")
    assert info.value.line == line and store.stats()["trajectories"] == 0


def test_an_empty_array_imports_nothing(store, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(" [ ]\n")
    assert import_file(store, path, "processbench").lines == 0


def test_cli_import_and_export(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="rlvr")
    add_commands(parser.add_subparsers(dest="command"))

    def main(argv):
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)

    db = str(tmp_path / "prm.db")
    assert (
        main(
            [
                "prm",
                "import",
                str(SAMPLE),
                "--format",
                "processbench",
                "--licence",
                "Apache-2.0",
                "--db",
                db,
            ]
        )
        == 0
    )
    assert (
        "3 records, 1 batches, 3 trajectories, 10 steps, 6 label events" in capsys.readouterr().out
    )
    out = tmp_path / "pb.jsonl"
    assert main(["prm", "export", str(out), "--format", "processbench", "--db", db]) == 0
    assert sorted(json.loads(line)["label"] for line in out.read_text().splitlines()) == [-1, 0, 1]
    with pytest.raises(SystemExit):
        main(["prm", "import", "--help"])
    assert "processbench" in capsys.readouterr().out
