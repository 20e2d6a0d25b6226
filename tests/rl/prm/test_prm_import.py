"""Importers: PRM800K-style and Math-Shepherd-style files, malformed input, idempotence, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.prm.errors import ImportFormatError, PrmError
from rl.prm.importers import ImportOptions, import_file
from rl.prm.store import PrmStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prm"
PRM800K = FIXTURES / "prm800k_sample.jsonl"
SHEPHERD = FIXTURES / "math_shepherd_sample.jsonl"
GIVE_UP = FIXTURES / "prm800k_give_up.jsonl"


@pytest.fixture
def store(store_url):  # SQLite and PostgreSQL (conftest.py)
    with PrmStore(store_url) as s:
        yield s


def labels_of(store, trajectory_id):
    return [
        [(e.annotator_id, e.value) for e in store.events(s.id)] for s in store.steps(trajectory_id)
    ]


def test_prm800k_main_paths_alternatives_and_ratings(store):
    report = import_file(store, PRM800K, options=ImportOptions(licence="MIT"))
    assert (report.lines, report.batches_committed) == (3, 1)
    stats = store.stats()
    # line 1: main path + 1 alternative; line 2: the same two trajectories again; line 3: main + 2
    # alternatives
    assert (stats["problems"], stats["trajectories"], stats["steps"]) == (2, 5, 4 + 3 + 3 + 2 + 3)
    main = store.trajectory(1)
    assert main.final_answer == "12" and main.parent_id is None
    assert main.meta["ground_truth_solution"].startswith("Both are divisible")
    assert len(store.steps(1)) == 4  # all pre-generated steps, even those not labelled
    assert labels_of(store, 1) == [
        [("labeler-a", 0), ("labeler-b", -1)],
        [("labeler-a", 1), ("labeler-b", 1)],
        [("labeler-a", -1), ("labeler-b", -1)],
        [],
    ]
    alt = store.trajectory(2)
    assert (alt.parent_id, alt.branch_step) == (1, 2)
    assert store.steps(2)[2].text == "The common part is $2 \\cdot 3 = 6$."
    assert labels_of(store, 2)[2] == [("labeler-a", 1), ("labeler-b", 1)]
    assert store.problem(main.problem_id).licence == "MIT"
    # bulk writes skip the per-row checks there (PostgreSQL always checks)
    if store.backend == "sqlite":
        assert store.read("PRAGMA foreign_key_check") == []


def test_prm800k_event_metadata_and_human_completion(store):
    import_file(store, PRM800K)
    first = store.events(store.steps(1)[0].id)
    assert first[0].created_at == "2023-01-22T04:34:27.052924"
    assert first[0].meta["finish_reason"] == "found_error" and first[0].meta["total_time"] == 278270
    assert first[0].meta["is_quality_control_question"] is True
    assert first[1].meta["flagged"] is True
    phase1 = store.trajectory_ids()[2]
    last = store.events(store.steps(phase1)[2].id)[0]
    assert (last.value, last.meta["human_completion"]) == (1, True)
    assert "human_completion" in last.rationale
    assert store.first_wrong_step(phase1) == -1
    assert [t for t, *_ in store.disagreements()] == [1, 2]


def test_prm800k_null_completions_keep_the_steps_that_exist(store):
    report = import_file(store, GIVE_UP)
    assert report.lines == 3
    # line 1: main path (3 steps, the last human-written) + 2 alternatives at step 2; line 2: the 3
    # pre-generated steps, 2 labelled; line 3 (bad_problem, one null step): nothing
    assert (store.stats()["problems"], store.stats()["trajectories"], store.stats()["steps"]) == (
        2,
        4,
        3 + 3 + 3 + 3,
    )
    main, alt1, alt2, phase2 = store.trajectory_ids()
    assert [s.text for s in store.steps(main)][-1] == "$3^2 = 3 \\cdot 3 = 9$."
    assert labels_of(store, main) == [[("labeler-d", 1)], [("labeler-d", 1)], [("labeler-d", 1)]]
    assert labels_of(store, alt1)[2] == labels_of(store, alt2)[2] == [("labeler-d", -1)]
    # nothing invented
    assert labels_of(store, phase2) == [[("labeler-e", 1)], [("labeler-e", 0)], []]
    assert store.current_labels(phase2)[2] is None
    for trajectory in (main, alt1, phase2):
        for step in store.steps(trajectory):
            for event in store.events(step.id):
                assert event.meta["finish_reason"] == "give_up"
    sessions = [
        json.loads(m) for (m,) in store.read("SELECT meta_json FROM label_sessions ORDER BY id")
    ]
    assert [(m["finish_reason"], m["line"]) for m in sessions] == [("give_up", 1), ("give_up", 2)]


def test_prm800k_null_completions_everywhere_in_a_step_list(store, tmp_path):
    row = json.loads(GIVE_UP.read_text().splitlines()[0])
    row["label"]["steps"].append(
        {"completions": [], "human_completion": None, "chosen_completion": None}
    )
    path = tmp_path / "trailing.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert import_file(store, path).steps == 3 + 3 + 3  # two trailing empty steps add nothing


def test_reimport_adds_nothing(store):
    import_file(store, PRM800K)
    before = store.stats()
    again = import_file(store, PRM800K)
    assert again.batches_committed == 0 and again.resumed_after_line == 3
    assert store.stats() == before


def test_math_shepherd_rows(store):
    report = import_file(store, SHEPHERD, "math_shepherd")
    assert (report.trajectories, report.steps, report.events) == (3, 9, 9)
    t = store.trajectory(1)
    problem = store.problem(t.problem_id)
    assert (
        problem.text
        == "Janet has 3 boxes with 4 pens each. She gives away 5 pens. How many pens are left?"
    )
    assert problem.source == "Math-Shepherd/GSM8K"
    assert "ки" not in t.raw_text and t.final_answer == "7"
    assert [s.text for s in store.steps(1)] == [
        "Step 1: She has 3 * 4 = 12 pens.",
        "Step 2: After giving away 5 she has 12 - 5 = 7 pens.",
        "Step 3: The answer is: 7",
    ]
    events = [store.events(s.id)[0] for s in store.steps(3)]
    assert [(e.value, e.value_kind, e.annotator_kind) for e in events] == [
        (1, "boolean", "monte_carlo"),
        (0, "boolean", "monte_carlo"),
        (0, "boolean", "monte_carlo"),
    ]
    assert store.first_wrong_step(3) == 1


def _good_prm800k_line() -> dict:
    return json.loads(PRM800K.read_text().splitlines()[2])


def _bad(mutate):
    row = _good_prm800k_line()
    mutate(row)
    return json.dumps(row)


MALFORMED = [
    ("prm800k", "{not json", "not valid JSON"),
    ("prm800k", "[1, 2]", "expected a JSON object"),
    ("prm800k", _bad(lambda r: r.pop("question")), "missing field 'question'"),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][1].update(chosen_completion=5)),
        "chosen_completion 5",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0]["completions"][0].update(rating=2)),
        "rating must be",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0]["completions"][0].update(rating=True)),
        "rating must be",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0].update(chosen_completion=None)),
        "no chosen or human completion but is not the last step",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0]["completions"][0].update(text="")),
        "non-empty text",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0].pop("completions")),
        "step 0 needs a 'completions' field",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0].update(completions="x")),
        "completions must be a list or null",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0].update(completions=None)),
        "chosen_completion 0 is not an index into its 0 completions",
    ),
    (
        "prm800k",
        _bad(lambda r: r["label"]["steps"][0].update(completions=None, chosen_completion=None)),
        "step 0 has no chosen or human completion but is not the last step",
    ),
    (
        "math_shepherd",
        json.dumps({"input": "Q Step 1: a ки", "label": "Q Step 1: a *"}),
        "expected '\\+' or '-'",
    ),
    (
        "math_shepherd",
        json.dumps({"input": "Q Step 1: a ки", "label": "Q Step 1: b +"}),
        "differs from input",
    ),
    ("math_shepherd", json.dumps({"input": "Q Step 1: a", "label": "Q Step 1: a"}), "no step tag"),
    (
        "math_shepherd",
        json.dumps({"input": "no marker a ки", "label": "no marker a +"}),
        "solution starts",
    ),
]


@pytest.mark.parametrize("fmt, bad_line, message", MALFORMED, ids=[m[2] for m in MALFORMED])
def test_malformed_line_names_the_line_and_imports_nothing(tmp_path, store, fmt, bad_line, message):
    good = (PRM800K if fmt == "prm800k" else SHEPHERD).read_text().splitlines()
    path = tmp_path / "input.jsonl"
    path.write_text("\n".join(good[:2] + [bad_line] + good[2:]) + "\n")
    with pytest.raises(ImportFormatError, match=message) as info:
        # would commit lines 1-2 first if it did not validate
        import_file(store, path, fmt, batch_lines=1)
    assert info.value.line == 3 and f"{path}:3:" in str(info.value)
    stats = store.stats()
    assert stats["trajectories"] == stats["label_events"] == 0 and stats["imports"] == []


def test_invalid_utf8_names_the_line(tmp_path, store):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        PRM800K.read_bytes().splitlines()[0]
        + b"\n"
        + '{"input": "caf\xe9"}'.encode("latin-1")
        + b"\n"
    )
    with pytest.raises(ImportFormatError, match=":2: not UTF-8 text"):
        import_file(store, path)


def test_unknown_format_and_bad_batch_size(store):
    with pytest.raises(PrmError, match="unknown import format 'csv'"):
        import_file(store, PRM800K, "csv")
    with pytest.raises(PrmError, match="batch_lines must be >= 1"):
        import_file(store, PRM800K, batch_lines=0)


def test_interrupted_import_resumes_without_duplicates(other_store_url, store):
    class Stop(Exception):
        pass

    def stop_after_first(mark):
        raise Stop

    with pytest.raises(Stop):
        import_file(store, PRM800K, batch_lines=1, on_batch=stop_after_first)
    assert store.stats()["imports"][0]["last_line"] == 1
    resumed = import_file(store, PRM800K, batch_lines=1)
    assert resumed.resumed_after_line == 1 and resumed.batches_committed == 2
    clean = PrmStore(other_store_url)
    import_file(clean, PRM800K)
    keys = ("problems", "trajectories", "steps", "label_events")
    assert {k: store.stats()[k] for k in keys} == {k: clean.stats()[k] for k in keys}
