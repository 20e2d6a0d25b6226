"""The PRM importers on the public files as released: PRM800K and Math-Shepherd records
(``prm_steps/``) and all of ProcessBench (``processbench/``), read from ``../shared/conformance``.

Expected counts are computed here from the files themselves (the PRM800K release's own description
of its fields, ProcessBench's ``label``), not taken from the importer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rl.prm.exporters import export_processbench
from rl.prm.importers import import_file
from rl.prm.processbench import PROCESSBENCH_VERIFIER
from rl.prm.store import PrmStore

from conformance_paths import read_jsonl, suite_path

PROCESSBENCH_FILES = ("gsm8k", "math", "olympiadbench", "omnimath")


# -- PRM800K: what a record holds, by the release's description -----------------------------------
def prm800k_trajectories(record: dict) -> list[tuple[tuple[str, ...], list]]:
    """``(step texts, ratings)`` of the record's main path and of each alternative completion.

    Per step: the chosen completion, else the labeler's own (+1 by the labelling rules), else in
    phase 2 the pre-generated step; the first step with none of these ends the path, and its
    completions are alternatives. A step with null completions has no text: nothing to keep. The
    main path's text is the pre-generated solution when that extends it (its later steps unrated).
    """
    question, steps = record["question"], record["label"]["steps"]
    pre = question.get("pre_generated_steps") or []
    path: list[dict] = []
    alternatives: list[tuple[int, dict]] = []
    for i, step in enumerate(steps):
        completions = step["completions"] or []
        human = step["human_completion"]
        if step["chosen_completion"] is not None:
            main = completions[step["chosen_completion"]]
        elif human is not None:
            main = {"text": human if isinstance(human, str) else human["text"], "rating": 1}
        elif i < len(pre) and any(c["text"] == pre[i] for c in completions):
            main = next(c for c in completions if c["text"] == pre[i])
        else:
            alternatives += [(i, c) for c in completions]
            assert all(not s["completions"] for s in steps[i + 1 :]), (
                "nothing may follow the end of the path"
            )
            break
        alternatives += [(i, c) for c in completions if c is not main]
        path.append(main)
    texts, ratings = [c["text"] for c in path], [c["rating"] for c in path]
    out = []
    if path:
        extends = bool(pre) and texts == pre[: len(texts)]
        out.append(
            (
                tuple(pre if extends else texts),
                ratings + [None] * (len(pre) - len(texts) if extends else 0),
            )
        )
    out += [(tuple(texts[:i]) + (c["text"],), ratings[:i] + [c["rating"]]) for i, c in alternatives]
    return out


def prm800k_expected(records: list[dict]) -> dict[str, int]:
    problems, trajectories, labelled, events = set(), {}, set(), 0
    for record in records:
        problem = (record["question"]["problem"], record["question"].get("ground_truth_answer"))
        for texts, ratings in prm800k_trajectories(record):
            problems.add(problem)
            trajectories[(problem, texts)] = len(texts)
            # one event per rating, per trajectory it is on
            events += sum(r is not None for r in ratings)
            labelled |= {(problem, texts, i) for i, r in enumerate(ratings) if r is not None}
    return {
        "problems": len(problems),
        "trajectories": len(trajectories),
        "steps": sum(trajectories.values()),
        "label_events": events,
        "labelled_steps": len(labelled),
    }


def labelled_steps(store: PrmStore) -> int:
    return sum(
        label is not None for t in store.trajectory_ids() for label in store.current_labels(t)
    )


@pytest.fixture(scope="module")
def prm800k(tmp_path_factory):
    path = suite_path("prm_steps", "samples_prm800k.jsonl")
    store = PrmStore(tmp_path_factory.mktemp("prm800k") / "prm.db")
    return store, import_file(store, path, "prm800k"), read_jsonl(path)


def test_prm800k_every_record_imports_with_its_counts(prm800k):
    store, report, records = prm800k
    assert report.lines == len(records) == 6
    stats = store.stats()
    counts = {k: stats[k] for k in ("problems", "trajectories", "steps", "label_events")}
    assert {**counts, "labelled_steps": labelled_steps(store)} == prm800k_expected(records)


def test_prm800k_each_main_path_and_its_finish_reason(prm800k):
    store, _, records = prm800k
    assert {r["label"]["finish_reason"] for r in records} >= {"solution", "found_error", "give_up"}
    for line, record in enumerate(records, 1):
        texts, ratings = prm800k_trajectories(record)[0]
        rows = store.read(
            "SELECT t.id FROM trajectories t JOIN problems p ON p.id = t.problem_id "
            "WHERE p.text = ? AND t.raw_text = ? AND t.parent_id IS NULL",
            (record["question"]["problem"], "\n".join(texts)),
        )
        assert len(rows) == 1, f"line {line}: main path not found"
        steps = store.steps(rows[0][0])
        assert [s.text for s in steps] == list(texts)
        labels = store.current_labels(rows[0][0])
        assert [None if label is None else label.value for label in labels] == ratings, (
            f"line {line}"
        )
        events = [e for s in steps for e in store.events(s.id)]
        assert events and {(e.meta["finish_reason"], e.meta["line"]) for e in events} == {
            (record["label"]["finish_reason"], line)
        }


def test_prm800k_give_up_with_null_completions(prm800k):
    store, _, records = prm800k
    given_up = [r for r in records if any(s["completions"] is None for s in r["label"]["steps"])]
    assert given_up and all(r["label"]["finish_reason"] == "give_up" for r in given_up)
    for record in given_up:
        real_steps = sum(s["completions"] is not None for s in record["label"]["steps"])
        texts, _ = prm800k_trajectories(record)[0]
        assert len(texts) == real_steps  # every step that exists, none for the null one


# -- Math-Shepherd ---------------------------------------------------------------------------------
def test_math_shepherd_every_record_imports_with_its_counts(tmp_path):
    path = suite_path("prm_steps", "samples_math-shepherd.jsonl")
    records = read_jsonl(path)
    store = PrmStore(tmp_path / "prm.db")
    report = import_file(store, path, "math_shepherd")
    marks = [m for r in records for m in re.findall(r" ([+-])(?=\n|$)", r["label"])]
    assert len(marks) == sum(r["input"].count("ки") for r in records)
    stats = store.stats()
    assert report.lines == len(records) == 7
    assert (stats["problems"], stats["trajectories"], stats["steps"], stats["label_events"]) == (
        len({r["input"].split("Step 1:")[0].strip() for r in records}),
        len(records),
        len(marks),
        len(marks),
    )
    values = {row["value"]: row["count"] for row in stats["labels"]}
    assert values == {1.0: marks.count("+"), 0.0: marks.count("-")}


# -- ProcessBench ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def processbench(tmp_path_factory):
    folder = suite_path("processbench")
    store = PrmStore(tmp_path_factory.mktemp("processbench") / "prm.db")
    records, reports = {}, {}
    for name in PROCESSBENCH_FILES:
        path = folder / f"{name}.json"
        records[name] = json.loads(path.read_text(encoding="utf-8"))
        reports[name] = import_file(store, path, "processbench")
    ids = {
        json.loads(meta)["processbench_id"]: (t, h)
        for t, h, meta in store.read("SELECT id, hash, meta_json FROM trajectories")
    }
    return store, records, reports, ids


@pytest.mark.parametrize("name", PROCESSBENCH_FILES)
def test_processbench_every_record_imports(processbench, name):
    _, records, reports, _ = processbench
    rows = records[name]
    report = reports[name]
    labels = sum(len(r["steps"]) if r["label"] == -1 else r["label"] + 1 for r in rows)
    assert (report.lines, report.trajectories, report.steps, report.events) == (
        len(rows),
        len(rows),
        sum(len(r["steps"]) for r in rows),
        labels,
    )


def test_processbench_store_counts(processbench):
    store, records, _, ids = processbench
    rows = [r for name in PROCESSBENCH_FILES for r in records[name]]
    assert len(rows) == len(ids) == 3400
    stats = store.stats()
    assert (stats["problems"], stats["trajectories"], stats["steps"], stats["final_verdicts"]) == (
        len({r["problem"] for r in rows}),
        len(rows),
        sum(len(r["steps"]) for r in rows),
        sum(r["final_answer_correct"] is not None for r in rows),
    )


def test_processbench_first_wrong_step_is_the_label(processbench):
    store, records, _, ids = processbench
    wrong = []
    for name in PROCESSBENCH_FILES:
        for record in records[name]:
            trajectory_id = ids[record["id"]][0]
            labels = store.current_labels(trajectory_id)
            expected = (
                [1] * len(record["steps"])
                if record["label"] == -1
                else [1] * record["label"]
                + [-1]
                + [None] * (len(record["steps"]) - record["label"] - 1)
            )
            if (
                store.first_wrong_step(trajectory_id) != record["label"]
                or [None if label is None else label.value for label in labels] != expected
            ):
                wrong.append(record["id"])
    assert wrong == []


def test_processbench_export_reproduces_every_record(processbench, tmp_path):
    store, records, _, ids = processbench
    out = tmp_path / "processbench.jsonl"
    report = export_processbench(store, out, verifier=PROCESSBENCH_VERIFIER)
    assert report.rows == 3400 and report.skipped == {}
    by_hash = {h: record_id for record_id, (_, h) in ids.items()}
    exported = {by_hash[row["id"]]: row for row in read_jsonl(out)}
    differ = [
        r["id"]
        for name in PROCESSBENCH_FILES
        for r in records[name]
        if {**exported[r["id"]], "id": r["id"]} != r
    ]
    assert differ == []  # label, steps, problem, generator and final_answer_correct, for every id


def test_processbench_reimport_adds_nothing(processbench):
    store, _, _, _ = processbench
    before = store.stats()
    again = import_file(store, Path(suite_path("processbench", "gsm8k.json")), "processbench")
    assert again.batches_committed == 0 and store.stats() == before
