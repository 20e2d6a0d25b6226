"""The hand-labelled golden table of math@1, graded directly and through the batch API."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import verifiers
from verifiers import GradeItem, grade_batch

TABLE = Path(__file__).resolve().parents[3] / "verifiers" / "golden" / "math@1.jsonl"
ROWS = [json.loads(line) for line in TABLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_table_is_big_and_balanced():
    assert len(ROWS) >= 300
    statuses = Counter(row["status"] for row in ROWS)
    assert statuses["pass"] >= 100 and statuses["fail"] >= 100
    assert statuses["unparseable"] >= 5 and statuses["error"] >= 3
    notes = {row["note"].split("/")[0] for row in ROWS}
    for note in notes:  # every category that can pass also has a failing case, and vice versa
        kinds = {row["status"] for row in ROWS if row["note"].split("/")[0] == note}
        if note.startswith(
            (
                "integer",
                "fraction",
                "symbolic",
                "set",
                "interval",
                "matrix",
                "equation",
                "choice",
                "text",
            )
        ):
            assert {"pass", "fail"} <= kinds, note


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{row['note']}" for i, row in enumerate(ROWS)])
def test_golden_row_direct(row):
    verdict = verifiers.get("math@1").verify(row["response"], row["reference"])
    assert verdict.status.value == row["status"], (verdict.failure_reason, verdict.details)
    if row.get("code"):
        assert verdict.failure_reason.code == row["code"]
    if verdict.status.value in ("pass", "fail") and row["note"] != "bad_gold_missing_key":
        assert verdict.details["extraction_rule"] and "decided_by" in verdict.details


def test_golden_table_through_batch_api_matches_direct():
    items = [
        GradeItem(row["response"], row["reference"], "math@1", i) for i, row in enumerate(ROWS)
    ]
    verdicts = grade_batch(items, workers=2, timeout_s=60)
    assert [v.status.value for v in verdicts] == [row["status"] for row in ROWS]
