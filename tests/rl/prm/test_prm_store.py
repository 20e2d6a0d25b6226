"""PRM store: schema and migrations, records, segmentation, append-only labels, resolution, derived
queries.

Tests taking ``store`` or ``store_url`` run on SQLite and on a real PostgreSQL server
(``conftest.py``).
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl.prm.errors import (
    LabelValueError,
    NotFoundError,
    PrmError,
    SchemaVersionError,
    StoreBusyError,
)
from rl.prm.records import LabelEvent
from rl.prm.resolve import resolve_rows
from rl.prm.schema import SCHEMA_VERSION
from rl.prm.segment import METHODS, check_spans, segment
from rl.prm.store import PrmStore

RAW = "Let x = 2.\nThen 2x = 4.\nSo x + 1 = 3.\nThe answer is 3."


@pytest.fixture
def store(store_url):
    with PrmStore(store_url) as s:
        yield s


def raw_connection(store):
    """A plain client connection to the store's database, bypassing the store (autocommit)."""
    if store.backend == "sqlite":
        return sqlite3.connect(store.path, isolation_level=None)
    import psycopg

    return psycopg.connect(store.path, autocommit=True)


def raw_errors(store):
    """The exception a refused statement raises through :func:`raw_connection`."""
    if store.backend == "sqlite":
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.errors.RestrictViolation


@pytest.fixture
def traj(store):
    problem = store.add_problem(
        "x = 2; what is x + 1?", gold_answer="3", source="unit", licence="CC0"
    )
    t = store.add_trajectory(problem.id, RAW, generator="tiny", sampling={"temperature": 0.7})
    store.add_segmentation(t.id, method="newline@1")
    return t


def human(store, step_id, value, who="alice", **kw):
    return store.label(step_id, value, annotator_kind="human", annotator_id=who, **kw)


def test_new_store_is_wal_and_current_schema(store):
    assert store.schema_version == SCHEMA_VERSION
    if store.backend == "sqlite":
        assert store.read("PRAGMA journal_mode")[0][0] == "wal"
    assert store.integrity_check() == "ok"
    assert store.read("SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_forward_migration_keeps_data(store_url):
    path = store_url
    old = PrmStore(path, schema_version=1)
    assert old.schema_version == 1
    assert old.table_columns("final_verdicts") == []
    t = old.add_trajectory(old.add_problem("p", gold_answer="1").id, "a\nb")
    old.add_segmentation(t.id)
    old.close()
    new = PrmStore(path)
    assert new.schema_version == SCHEMA_VERSION
    assert [s.text for s in new.steps(t.id)] == ["a", "b"]
    new.record_verdict(t.id, verifier="math@1", status="pass", score=1.0)
    assert new.final_verdict(t.id).status == "pass"


def test_newer_schema_is_refused(store_url):
    path = store_url
    store = PrmStore(path)
    conn = raw_connection(store)
    store.close()
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(SchemaVersionError, match="newer than this rlvr understands"):
        PrmStore(path)


def test_problems_and_trajectories_are_idempotent_on_content_hash(store):
    a = store.add_problem("same text", gold_answer="1")
    b = store.add_problem("same text", gold_answer="1")
    assert a.id == b.id and a.hash.startswith("sha256:")
    t1 = store.add_trajectory(a.id, "raw", generator="g")
    t2 = store.add_trajectory(a.id, "raw", generator="g")
    t3 = store.add_trajectory(a.id, "raw", generator="other")
    assert t1.id == t2.id != t3.id
    assert store.trajectory(t1.hash[7:19]).id == t1.id
    assert store.trajectory(t1.id).sampling == {}


def test_hash_prefix_errors(store, traj):
    with pytest.raises(NotFoundError, match="too short"):
        store.trajectory_id("ab")
    with pytest.raises(NotFoundError, match="no trajectory"):
        store.trajectory_id("ffffffffffff")


def test_steps_are_spans_and_resegmenting_never_rewrites_text(store, traj):
    steps = store.steps(traj.id)
    assert [s.text for s in steps] == RAW.split("\n")
    assert all(RAW[s.start : s.end] == s.text for s in steps)
    again = store.add_segmentation(traj.id, method="newline@1")
    assert [s.id for s in again] == [s.id for s in steps]  # idempotent
    store.add_segmentation(traj.id, method="custom@1", spans=[(0, 10), (11, len(RAW))])
    assert store.trajectory(traj.id).raw_text == RAW
    # the latest segmentation
    assert [s.text for s in store.steps(traj.id)] == ["Let x = 2.", RAW[11:]]


@pytest.mark.parametrize("spans", [[(0, 0)], [(5, 3)], [(0, 10), (5, 12)], [(0, 999)], [(-1, 4)]])
def test_bad_spans_are_refused(store, traj, spans):
    with pytest.raises(PrmError, match="span"):
        store.add_segmentation(traj.id, method="bad@1", spans=spans)


SEGMENT_TABLE = [
    ("newline@1", "a\n\n  b  \nc", ["a", "b", "c"]),
    ("paragraph@1", "one\ntwo\n\nthree\n", ["one\ntwo", "three"]),
    (
        "step_marker@1",
        "Intro.\nStep 1: a\nmore\nStep 2: b",
        ["Intro.", "Step 1: a\nmore", "Step 2: b"],
    ),
    ("step_marker@1", "no markers here", ["no markers here"]),
]


@pytest.mark.parametrize("method, text, expected", SEGMENT_TABLE)
def test_segmentation_methods(method, text, expected):
    assert [text[a:b] for a, b in segment(text, method)] == expected


def test_unknown_segmentation_method():
    with pytest.raises(PrmError, match="unknown segmentation method 'lines'"):
        segment("x", "lines@1")
    with pytest.raises(PrmError, match="has versions"):
        segment("x", "newline@7")


def test_labels_are_append_only_and_latest_per_annotator_counts(store, traj):
    step = store.steps(traj.id)[1]
    human(store, step.id, -1, error_type="arithmetic_slip", rationale="2x is 4, fine actually?")
    human(store, step.id, +1, rationale="re-checked")
    events = store.events(step.id)
    assert [e.value for e in events] == [-1, 1]
    assert events[0].error_type == "arithmetic_slip" and events[0].created_at
    assert store.current_labels(traj.id)[1].value == 1
    assert store.stats()["label_events"] == 2


LABEL_ERRORS = [
    (dict(value=2), "ternary label is -1, 0 or \\+1"),
    (dict(value=0.5, value_kind="boolean"), "boolean label is 0 or 1"),
    (dict(value=1.5, value_kind="soft"), r"soft label lies in \[0, 1\]"),
    (dict(value=1, annotator_kind="robot"), "annotator_kind 'robot' is not one of"),
    (dict(value=0.5, value_kind="fuzzy"), "value_kind 'fuzzy'"),
    (
        dict(value=0.5, value_kind="soft", annotator_kind="monte_carlo", rollouts=2, solved=3),
        "solved <= rollouts",
    ),
    (
        dict(value=0.5, value_kind="soft", annotator_kind="monte_carlo", rollouts=2),
        "both rollouts and solved",
    ),
    (dict(value=-1, error_type="Algebra Error!"), "snake_case"),
    (dict(value=float("nan")), "finite"),
]


def test_events_and_raw_text_cannot_be_rewritten_even_in_sql(store, traj):
    event = human(store, store.steps(traj.id)[0].id, 1)
    conn, refused = raw_connection(store), raw_errors(store)
    with pytest.raises(refused, match="append-only"):
        conn.execute(f"UPDATE label_events SET value = -1 WHERE id = {event.id}")
    with pytest.raises(refused, match="append-only"):
        conn.execute("DELETE FROM label_events")
    with pytest.raises(refused, match="immutable"):
        conn.execute("UPDATE trajectories SET raw_text = 'rewritten'")
    # TRUNCATE skips row triggers there; a statement trigger refuses it
    if store.backend == "postgresql":
        with pytest.raises(refused, match="append-only"):
            conn.execute("TRUNCATE label_events")
    conn.close()
    assert store.events(event.step_id)[0].value == 1


@pytest.mark.parametrize("kwargs, message", LABEL_ERRORS)
def test_label_values_are_validated(kwargs, message):
    fields = {"step_id": 1, "annotator_kind": "human", "annotator_id": "a", **kwargs}
    with pytest.raises(LabelValueError, match=message):
        LabelEvent(**fields)


def test_label_on_missing_step(store):
    with pytest.raises(NotFoundError, match="no step with id 12345"):
        human(store, 12345, 1)


# Resolution rule golden table: rows are (id, value, value_kind, annotator_kind, annotator_id,
# rollouts, solved).
H = "human"
RESOLVE_TABLE = [
    ("single human", [(1, 1, "ternary", H, "a", None, None)], 1, H, False),
    ("neutral stays neutral", [(1, 0, "ternary", H, "a", None, None)], 0, H, False),
    (
        "latest of one annotator",
        [(1, -1, "ternary", H, "a", None, None), (2, 1, "ternary", H, "a", None, None)],
        1,
        H,
        False,
    ),
    (
        "tie goes to the lower value",
        [(1, 1, "ternary", H, "a", None, None), (2, -1, "ternary", H, "b", None, None)],
        -1,
        H,
        True,
    ),
    (
        "majority wins",
        [
            (1, 1, "ternary", H, "a", None, None),
            (2, 1, "ternary", H, "b", None, None),
            (3, -1, "ternary", H, "c", None, None),
        ],
        1,
        H,
        True,
    ),
    (
        "human outranks monte carlo",
        [(1, 0.0, "soft", "monte_carlo", "m", 8, 0), (2, 1, "ternary", H, "a", None, None)],
        1,
        H,
        True,
    ),
    (
        "verifier outranks judge",
        [
            (1, 1, "ternary", "model_judge", "j", None, None),
            (2, -1, "ternary", "verifier", "math@1", None, None),
        ],
        -1,
        "verifier",
        True,
    ),
    (
        "monte carlo pooled > 0",
        [(1, 0.0, "soft", "monte_carlo", "m1", 4, 0), (2, 0.25, "soft", "monte_carlo", "m2", 4, 1)],
        1,
        "monte_carlo",
        True,
    ),
    (
        "monte carlo all zero",
        [(1, 0.0, "soft", "monte_carlo", "m1", 4, 0)],
        -1,
        "monte_carlo",
        False,
    ),
    (
        "boolean false is wrong",
        [(1, 0, "boolean", "model_judge", "j", None, None)],
        -1,
        "model_judge",
        False,
    ),
]


@pytest.mark.parametrize(
    "name, rows, value, kind, disagreement", RESOLVE_TABLE, ids=[r[0] for r in RESOLVE_TABLE]
)
def test_resolution_rule(name, rows, value, kind, disagreement):
    label = resolve_rows(9, rows)
    assert (label.value, label.annotator_kind, label.disagreement) == (value, kind, disagreement)


def test_pooled_monte_carlo_soft_value():
    label = resolve_rows(
        1, [(1, 0.5, "soft", "monte_carlo", "a", 4, 2), (2, 1.0, "soft", "monte_carlo", "b", 4, 4)]
    )
    assert label.soft == pytest.approx(0.75)
    assert resolve_rows(1, []) is None


def test_derived_queries(store, traj):
    s = store.steps(traj.id)
    for step, value in zip(s, (1, 1, -1, 1)):
        human(store, step.id, value)
    assert store.first_wrong_step(traj.id) == 2
    store.record_verdict(traj.id, verifier="math@1", status="pass", score=1.0, final_answer="3")
    assert store.right_answer_wrong_step() == [traj.id]
    assert store.correct_process_wrong_answer() == []

    other = store.add_trajectory(traj.problem_id, "x is 2\nanswer 4", generator="tiny")
    for step in store.add_segmentation(other.id):
        human(store, step.id, 1)
    store.record_verdict(other.id, verifier="math@1", status="fail", score=0.0, final_answer="4")
    assert store.correct_process_wrong_answer() == [other.id]
    assert store.first_wrong_step(other.id) == -1


def test_disagreements_are_listed(store, traj):
    step = store.steps(traj.id)[0]
    human(store, step.id, 1, who="a")
    human(store, step.id, -1, who="b")
    human(store, store.steps(traj.id)[1].id, 1, who="a")
    found = store.disagreements()
    assert [(t, i) for t, i, _, _ in found] == [(traj.id, 0)]
    assert {e.annotator_id for e in found[0][3]} == {"a", "b"}


def test_busy_store_raises_after_bounded_retry(tmp_path, traj, store):
    step = store.steps(traj.id)[0]
    blocker = raw_connection(store)
    if store.backend == "sqlite":
        blocker.execute("BEGIN IMMEDIATE")
    else:  # the store's write lock, held by another session
        from rl.prm.postgres import WRITE_LOCK_KEY

        blocker.execute("BEGIN")
        blocker.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
    try:
        impatient = PrmStore(store.path, busy_timeout_s=0.05, retry_s=0.3)
        with pytest.raises(StoreBusyError, match="stayed locked"):
            impatient.label(step.id, 1, annotator_kind="human", annotator_id="x")
        assert impatient.retries > 0
    finally:
        blocker.execute("ROLLBACK")
    # fine once the lock is gone
    impatient.label(step.id, 1, annotator_kind="human", annotator_id="x")
    assert len(store.events(step.id)) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n\tStep1:2"), max_size=80))
def test_every_segmentation_gives_valid_trimmed_spans(text):
    for name, versions in METHODS.items():
        for version in versions:
            spans = segment(text, f"{name}@{version}")
            check_spans(len(text), spans)
            for start, end in spans:
                piece = text[start:end]
                assert piece == piece.strip() and piece


def test_many_events_with_stored_dedupe_keys_add_nothing(store, traj):
    """Big batches take PostgreSQL's COPY path (into a stage, then ON CONFLICT): keys still
    dedupe."""
    steps = store.steps(traj.id)
    events = [
        LabelEvent(
            step_id=steps[k % len(steps)].id,
            value=1,
            annotator_kind="human",
            annotator_id="bulk",
            dedupe_key=1000 + k,
        )
        for k in range(200)
    ]
    store.add_labels(events[:150])
    store.add_labels(events + events)  # 150 stored, 50 new, each twice in the batch
    assert store.stats()["label_events"] == 200
    assert sorted(e.dedupe_key for s in steps for e in store.events(s.id)) == list(
        range(1000, 1200)
    )
