"""``audit_verifier`` / ``rlvr verifiers audit``: rates, Wilson intervals, disagreements, bad
lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.cli import main
from verifiers import audit_verifier
from verifiers.qa.audit import read_labelled, wilson_interval

OBJ = {"schema": {"type": "object", "required": ["n"]}}
INDEPENDENT_V2 = Path(__file__).parent / "math" / "independent_cases_v2.jsonl"

#: Hand-checked with json_schema@1: correct rows 1-3 (row 3 is unparseable: a false fail), incorrect
#: rows 4-5 (row 5 passes: a false pass), row 6 has a bad reference (could not grade), then bad
#: lines.
SMALL = [
    json.dumps({"response": '{"n": 1}', "reference": OBJ, "label": True}),
    json.dumps({"response": '{"n": 2}', "reference": OBJ, "label": "correct"}),
    json.dumps({"response": "n is 3", "reference": OBJ, "label": "correct"}),
    json.dumps({"response": "[1]", "reference": OBJ, "label": "incorrect"}),
    json.dumps({"response": '{"n": 5}', "reference": OBJ, "status": "fail"}),
    json.dumps({"response": '{"n": 6}', "reference": {"schmea": {}}, "label": True}),
    "{not json",
    json.dumps({"response": "x", "reference": OBJ, "label": "maybe"}),
    json.dumps({"response": "x", "label": True}),
]


def test_wilson_interval_matches_hand_computed_values():
    assert wilson_interval(1, 2) == pytest.approx((0.0945, 0.9055), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_rates_cis_disagreements_and_bad_lines(tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(SMALL) + "\n")
    report = audit_verifier("json_schema@1", path, workers=1)
    (audit,) = report.specs
    assert report.rows == 6 and len(report.bad_lines) == 3
    assert [b.split(":")[0] for b in report.bad_lines] == ["line 7", "line 8", "line 9"]
    assert (audit.false_pass.count, audit.false_pass.total) == (1, 2)
    assert (audit.false_fail.count, audit.false_fail.total) == (1, 3)
    assert audit.false_fail.interval == pytest.approx(wilson_interval(1, 3))
    assert audit.could_not_grade == (6,)  # an error verdict is never counted as a fail
    assert [(d.line, d.statuses) for d in audit.disagreements] == [
        (3, ("unparseable",)),
        (5, ("pass",)),
    ]
    assert "33.3% [6.1%, 79.2%] (1/3)" in report.format()


def test_read_labelled_accepts_rows_as_dicts():
    rows, bad = read_labelled([{"response": "a", "reference": {}, "label": False}, {"nope": 1}])
    assert [r.correct for r in rows] == [False] and bad == [
        "line 2: needs a JSON object with 'response' and 'reference'"
    ]


@pytest.mark.slow
def test_math_v1_and_v2_side_by_side_on_independent_cases():
    report = audit_verifier(["math@1", "math@2"], INDEPENDENT_V2, workers=2)
    v1, v2 = report.specs
    assert report.rows == 262 and report.bad_lines == ()
    assert (v1.false_pass.count, v1.false_pass.total, v1.false_fail.count, v1.false_fail.total) == (
        6,
        133,
        14,
        112,
    )
    assert len(v1.could_not_grade) == 17
    assert (v2.false_pass.count, v2.false_pass.total, v2.false_fail.count, v2.false_fail.total) == (
        0,
        142,
        0,
        120,
    )
    assert len(report.between) == 28
    assert {d.line for d in v1.disagreements} <= {d.line for d in report.between}
    by_line = {d.line: d for d in report.between}
    # \boxed{(1,100)} vs 1100
    assert by_line[35].statuses == ("pass", "fail") and not by_line[35].correct


def test_cli_audit_two_specs_prints_table_and_writes_json(tmp_path, capsys):
    path, out = tmp_path / "small.jsonl", tmp_path / "audit.json"
    path.write_text("\n".join(SMALL) + "\n")
    assert (
        main(
            [
                "verifiers",
                "audit",
                "json_schema@1",
                "json_schema@2",
                "--labelled",
                str(path),
                "--json",
                str(out),
                "--workers",
                "1",
                "--show",
                "2",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "false-pass rate" in printed and "json_schema@2" in printed and "bad line" in printed
    data = json.loads(out.read_text())
    assert [s["spec"] for s in data["specs"]] == ["json_schema@1", "json_schema@2"]
    assert data["specs"][0]["false_pass"]["ci95"][1] == pytest.approx(0.9055, abs=1e-4)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["verifiers", "audit", "nosuch@1", "--labelled", __file__], "no verifier named 'nosuch'"),
        (["verifiers", "audit", "math@1", "--labelled", "/no/such.jsonl"], "not a file"),
        (
            ["verifiers", "audit", "math@1", "math@2", "math@1", "--labelled", __file__],
            "one or two",
        ),
    ],
)
def test_cli_audit_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
