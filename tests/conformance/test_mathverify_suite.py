"""``math@2`` against Math-Verify's own test table
(``../shared/conformance/mathverify/cases.jsonl``).

Each row is (gold, prediction, expected) from Math-Verify's parametrized tests, with the keyword
arguments the test passes. Rows that use Math-Verify's default options are the measure; the others
are mapped to our options where we have one (``allow_set_relation_comp`` ->
``MathConfig.relation_answers_set``) and graded with defaults where we have none (``latex``-only or
``expr``-only extraction, ``precision``, ``strict=False``); they are reported separately. Every
disagreement is listed with its reason in ``verifiers/math/CONFORMANCE.md``, and the lists here
must equal those tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_paths import ROOT, documented, read_jsonl, suite_path

from verifiers.math import MathConfig, MathVerifier, MathVerifierV2

DOC = ROOT / "verifiers" / "math" / "CONFORMANCE.md"
DEFAULT_KWARGS = {
    "match_types": ["latex", "expr"],
    "precision": 6,
    "strict": True,
    "allow_set_relation_comp": False,
}


def row_id(row: dict) -> str:
    return f"{Path(row['source_file']).name}::{row['test_function']}[{row['row_index']}]"


def uses_defaults(row: dict) -> bool:
    if row["call"].startswith("verify("):
        return True
    kwargs = {**DEFAULT_KWARGS, **row["compare_kwargs"]}
    return kwargs == DEFAULT_KWARGS


def config_for(row: dict) -> MathConfig:
    """Our options for a row: only ``allow_set_relation_comp`` has a counterpart."""
    allow = row["compare_kwargs"].get("allow_set_relation_comp")
    return MathConfig(relation_answers_set=allow) if allow is not None else MathConfig()


def grade(verifier_class: type, rows: list[dict]) -> dict[str, bool]:
    """Row id -> whether the verifier passed the prediction against the gold."""
    verifiers_by_config: dict[MathConfig, object] = {}
    out = {}
    for row in rows:
        config = config_for(row)
        verifier = verifiers_by_config.setdefault(config, verifier_class(config))
        out[row_id(row)] = verifier.verify(row["prediction"], {"answer": row["gold"]}).passed
    return out


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return read_jsonl(suite_path("mathverify", "cases.jsonl"))


@pytest.fixture(scope="module")
def v2_results(rows) -> dict[str, bool]:
    return grade(MathVerifierV2, rows)


def _split(rows, results, defaults: bool):
    chosen = [r for r in rows if uses_defaults(r) == defaults]
    agree = [r for r in chosen if results[row_id(r)] == r["expected"]]
    false_passes = {row_id(r) for r in chosen if results[row_id(r)] and not r["expected"]}
    disagreements = {row_id(r) for r in chosen if results[row_id(r)] != r["expected"]}
    return chosen, agree, false_passes, disagreements


def test_suite_has_every_row(rows):
    assert len(rows) == 269
    assert sum(uses_defaults(r) for r in rows) == 149


def test_default_rows_agree_95_percent_with_no_false_pass(rows, v2_results):
    chosen, agree, false_passes, disagreements = _split(rows, v2_results, defaults=True)
    print(
        f"math@2 on Math-Verify's default-option rows: {len(agree)}/{len(chosen)} agree, "
        f"{len(false_passes)} false passes"
    )
    assert not false_passes, (
        f"math@2 passes answers Math-Verify's table calls wrong: {sorted(false_passes)}"
    )
    assert len(agree) / len(chosen) >= 0.95
    assert disagreements == documented(DOC, "Default-option rows: disagreements")


def test_other_rows_disagree_only_where_documented(rows, v2_results):
    chosen, agree, _, disagreements = _split(rows, v2_results, defaults=False)
    print(f"math@2 on rows with options we do not have: {len(agree)}/{len(chosen)} agree")
    assert disagreements == documented(DOC, "Rows with options rlvr does not have: disagreements")


def test_math_v1_numbers_are_pinned(rows):
    """The version before: what math@2 was measured against (documentation of the change)."""
    results = grade(MathVerifier, rows)
    chosen, agree, false_passes, _ = _split(rows, results, defaults=True)
    assert (len(agree), len(chosen), len(false_passes)) == (99, 149, 1)
