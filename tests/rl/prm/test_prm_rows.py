"""Named import rows (``rl.prm.rows``): what the bulk writer puts in which column, the compact form,
the spool round trip, and final verdict statuses typed as ``verifiers.Status``."""

from __future__ import annotations

import marshal

import pytest

from rl.prm.bulk import BatchItem, BatchMark, write_batch
from rl.prm.errors import LabelValueError
from rl.prm.parsing import ImportOptions, LineContext
from rl.prm.prm800k import parse_prm800k
from rl.prm.records import FinalVerdict
from rl.prm.rows import LabelRow, PlainLabels, SessionRow, VerdictRow
from rl.prm.store import PrmStore
from verifiers import Status

STAMP = "2024-05-01T00:00:00+00:00"


@pytest.fixture
def store(store_url):  # SQLite and PostgreSQL (conftest.py)
    with PrmStore(store_url) as s:
        yield s


def item(**values) -> BatchItem:
    fields = dict(
        problem_text="2+2?",
        gold_answer="4",
        source="demo",
        licence=None,
        raw_text="2+2=4.\nSo 4.",
        generator="g",
        method="demo",
        method_version=1,
        spans=[(0, 6), (7, 12)],
        labels=[],
    )
    return BatchItem(**{**fields, **values})


def write(store: PrmStore, items: list[BatchItem], batch_no: int = 0) -> None:
    assert write_batch(store, items, BatchMark("sha256:rows", "rows.jsonl", "demo", batch_no, 1, 1))


def full_row() -> LabelRow:
    return LabelRow(
        step_idx=1,
        value=0.75,
        value_kind="soft",
        annotator_kind="monte_carlo",
        annotator_id="engine:tiny",
        created_at=STAMP,
        dedupe_key=41,
        rationale="3 of 4 continuations solved it",
        error_type="arithmetic_slip",
        rollouts=4,
        solved=3,
        meta_json='{"k":4}',
    )


def test_each_named_field_lands_in_its_column(store):
    session = SessionRow(
        annotator_kind="human",
        annotator_id="alice",
        source="sha256:rows:1",
        started_at=STAMP,
        meta_json='{"line":1}',
    )
    verdict = VerdictRow(verifier="demo:given", status="fail", score=0.0, final_answer="5")
    write(store, [item(labels=[full_row()], session=session, verdict=verdict)])
    [event] = store.read(
        "SELECT step_id, value, value_kind, annotator_kind, annotator_id, created_at, dedupe_key, "
        "rationale, error_type, rollouts, solved, meta_json, session_id FROM label_events"
    )
    row = full_row()
    assert tuple(event) == (store.steps(1)[1].id, *row[1:], 1)
    assert [tuple(r) for r in store.read("SELECT * FROM label_sessions")] == [(1, *session)]
    stored = store.read(
        "SELECT trajectory_id, verifier, status, score, final_answer FROM final_verdicts"
    )
    assert [tuple(r) for r in stored] == [(1, *verdict)]


def test_plain_labels_write_the_rows_they_stand_for(tmp_path):
    plain = PlainLabels(
        value_kind="ternary",
        annotator_kind="human",
        annotator_id="bob",
        created_at=STAMP,
        key_base=1000,
        step_idxs=[0, 1],
        values=[1, -1],
    )
    columns = "step_id, value, value_kind, annotator_kind, annotator_id, created_at, dedupe_key"
    written = []
    for name, labels in (("compact", {"plain_labels": plain}), ("rows", {"labels": plain.rows()})):
        with PrmStore(tmp_path / f"{name}.db") as store:
            write(store, [item(**labels)])
            written.append(store.read(f"SELECT id, {columns}, rationale FROM label_events"))
    assert written[0] == written[1] and len(written[0]) == 2
    assert [(r[2], r[7]) for r in written[0]] == [(1, 1000), (-1, 1001)]


def test_spool_round_trip_names_the_rows_again():
    session = SessionRow("human", "alice", "sha256:rows:1", STAMP, "{}")
    plain = PlainLabels("ternary", "human", "alice", STAMP, 7, [0], [1])
    verdict = VerdictRow("demo:given", Status.PASS.value, 1.0, None)
    original = item(labels=[full_row()], session=session, plain_labels=plain, verdict=verdict)
    back = BatchItem.from_row(marshal.loads(marshal.dumps(original.as_row())))
    assert back == original
    assert (back.labels[0].solved, back.session.source, back.plain_labels.key_base) == (
        3,
        "sha256:rows:1",
        7,
    )
    assert back.verdict.status == "pass" and type(back.labels[0]) is LabelRow


def test_prm800k_branches_keep_full_rows_only_after_a_flagged_step():
    def step(*completions, chosen=0):
        return {"completions": list(completions), "chosen_completion": chosen}

    line = {
        "labeler": "alice",
        "timestamp": STAMP,
        "question": {"problem": "1+1?", "ground_truth_answer": "2"},
        "label": {
            "steps": [
                step({"text": "A", "rating": 1}),
                step({"text": "B", "rating": 1}, {"text": "B2", "rating": -1}),
                step({"text": "C", "rating": 0, "flagged": True}, {"text": "C2", "rating": 1}),
                step({"text": "D", "rating": 1}, {"text": "D2", "rating": None}),
            ]
        },
    }
    items = parse_prm800k(line, LineContext("sha256:ab", 5, ImportOptions()))
    rows = [list(i.labels) + (i.plain_labels.rows() if i.plain_labels else []) for i in items]
    compact = [i.plain_labels is not None for i in items]
    # main path (flagged C), B2 and C2 (nothing flagged before them), D2 (after C)
    assert compact == [False, True, True, False]
    assert [[(r.step_idx, r.value, r.meta_json) for r in rs] for rs in rows] == [
        [(0, 1, None), (1, 1, None), (2, 0, '{"flagged":true}'), (3, 1, None)],
        [(0, 1, None), (1, -1, None)],
        [(0, 1, None), (1, 1, None), (2, 1, None)],
        [(0, 1, None), (1, 1, None), (2, 0, '{"flagged":true}')],
    ]
    for rs in rows:  # one key base per branch, plus the step index
        assert {r.dedupe_key - r.step_idx for r in rs} == {rs[0].dedupe_key}
    assert len({rs[0].dedupe_key for rs in rows}) == len(rows)


def test_final_verdict_status_is_a_verifiers_status(store):
    traj = store.add_trajectory(store.add_problem("2+2?", gold_answer="4").id, "4", generator="g")
    other = store.add_trajectory(traj.problem_id, "5", generator="g")
    assert store.record_verdict(traj.id, verifier="math@2", status="pass").status is Status.PASS
    store.record_verdict(other.id, verifier="math@2", status=Status.FAIL, score=0.0)
    assert store.final_verdict(traj.id).status is Status.PASS
    assert store.final_verdict(other.id).status is Status.FAIL
    stored = store.read("SELECT status FROM final_verdicts ORDER BY trajectory_id")
    assert [r[0] for r in stored] == ["pass", "fail"]  # text, as before
    assert FinalVerdict(1, "v", "timeout").status is Status.TIMEOUT


def test_unknown_verdict_status_names_the_choices(store):
    traj = store.add_trajectory(store.add_problem("2+2?").id, "4", generator="g")
    with pytest.raises(LabelValueError, match="'passed' is not one of pass, fail, unparseable"):
        store.record_verdict(traj.id, verifier="math@2", status="passed")
    assert store.final_verdict(traj.id) is None
