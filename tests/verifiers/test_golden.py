"""Golden tables: every ``verifiers/golden/<name>@<version>.jsonl`` graded through ``grade_batch``.

Each line is ``{"reference", "response", "status", "score"?, "code"?, "note"}``; each line is its
own test case (id ``name@version:line:note``). A whole table is graded once, in worker
processes, and the cases read their verdicts from that run. Every built-in verifier version
that is registered must have a table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import verifiers
from verifiers import GradeItem, Status, grade_batch, registry

GOLDEN_DIR = Path(verifiers.__file__).parent / "golden"  # package data, shipped in the wheel
BUILTIN_PREFIX = "verifiers."


def _tables() -> dict[str, list[dict]]:
    tables = {}
    for path in sorted(GOLDEN_DIR.glob("*.jsonl")):
        rows = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        tables[path.stem] = rows
    return tables


TABLES = _tables()
CASES = [(spec, n, row) for spec, rows in TABLES.items() for n, row in enumerate(rows, 1)]


def _case_id(case) -> str:
    spec, n, row = case
    note = re.sub(r"[^A-Za-z0-9]+", "_", row.get("note", "")).strip("_")[:60]
    return f"{spec}:{n}:{note}"


@pytest.fixture(scope="module")
def graded():
    """``graded(spec)`` -> that table's verdicts; each table is graded once, in one batch, in
    workers."""
    done: dict[str, list] = {}

    def verdicts(spec: str) -> list:
        if spec not in done:
            rows = TABLES[spec]
            items = [
                GradeItem(row["response"], row["reference"], spec, n)
                for n, row in enumerate(rows, 1)
            ]
            done[spec] = grade_batch(items, workers=2, timeout_s=60)
        return done[spec]

    return verdicts


def test_tables_exist_and_are_well_formed():
    assert TABLES, f"no golden tables in {GOLDEN_DIR}"
    for spec, rows in TABLES.items():
        registry.parse_spec(spec)
        for n, row in enumerate(rows, 1):
            assert {"reference", "response", "status", "note"} <= set(row), (
                f"{spec}:{n} lacks a field"
            )
            assert row["status"] in {s.value for s in Status}, (
                f"{spec}:{n} has status {row['status']!r}"
            )


def test_every_builtin_verifier_version_has_a_golden_table():
    missing = []
    for info in verifiers.available():
        for version in info.versions:
            spec = registry.format_spec(info.name, version)
            if (
                registry.get_class(spec).__module__.startswith(BUILTIN_PREFIX)
                and spec not in TABLES
            ):
                missing.append(spec)
    assert not missing, f"built-in verifiers without a golden table in {GOLDEN_DIR}: {missing}"


@pytest.mark.parametrize(
    "spec,min_cases", [("json_schema@1", 40), ("json_schema@2", 40), ("xml_schema@1", 40)]
)
def test_structured_tables_are_large_and_mixed(spec, min_cases):
    rows = TABLES[spec]
    statuses = {row["status"] for row in rows}
    assert len(rows) >= min_cases
    assert {"pass", "fail", "unparseable", "error"} <= statuses


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_golden_case(case, graded):
    spec, n, row = case
    verdict = graded(spec)[n - 1]
    reason = verdict.failure_reason
    shown = f"{row.get('note')}: got {verdict.status.value} {reason.to_dict() if reason else ''}"
    assert verdict.status.value == row["status"], shown
    assert verdict.spec == spec
    if "score" in row:
        assert verdict.score == pytest.approx(row["score"]), shown
    if "code" in row:
        assert reason is not None and reason.code == row["code"], shown
    elif row["status"] == "pass":
        assert reason is None
