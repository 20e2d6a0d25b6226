"""Independent adversarial cases for math@1, written by QA (not by the verifier's author).

``independent_cases.jsonl`` holds (gold, realistic response, expected status) rows in the style of
MATH / MATH-500 / GSM8K / AIME / OlympiadBench golds and model outputs, each category with equal and
not-equal variants. Rows whose verdict follows a documented rule rather than an unambiguous fact
carry a ``policy`` field saying which rule. Rows with ``golden: true`` are also appended to the
golden table by ``make_math_golden.py``. Hostile inputs (CAS bombs, regex bombs) are listed below:
each must end as a non-pass verdict, decided by the screen or the killable CAS helper.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import verifiers
from verifiers import GradeItem, grade_batch

CASES_FILE = Path(__file__).with_name("independent_cases.jsonl")
CASES = [
    json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()
]

# (note, gold, response, expected status) - each must finish well within the default bound.
HOSTILE = [
    ("underbrace_huge", "5", "\\boxed{\\underbrace{" + "1+" * 3000 + "1}_{n}}", "unparseable"),
    (
        "frac_nested_500",
        "1",
        "\\boxed{" + "\\frac{1}{" * 500 + "2" + "}" * 500 + "}",
        "unparseable",
    ),
    (
        "sum_10k_terms",
        "5",
        "\\boxed{" + "+".join(str(i) for i in range(10000)) + "}",
        "unparseable",
    ),
    ("symbolic_tower", "1", "\\boxed{x^{x^{x^{x}}}}", "fail"),
    ("root_million", "1", "\\boxed{\\sqrt[1000000]{2}}", "fail"),
    ("tiny_power", "0", "\\boxed{10^{-1000000}}", "fail"),
    ("e999999", "1", "\\boxed{1e999999}", "fail"),
    ("sum_to_infinity", "1", "\\boxed{\\sum_{n=1}^{\\infty} \\frac{1}{2^n}}", "pass"),
    ("integral", "1", "\\boxed{\\int_0^1 2x\\,dx}", "pass"),
    ("limit", "1", "\\boxed{\\lim_{x\\to 0} \\frac{\\sin x}{x}}", "pass"),
    ("digits_100k_boxed", "1", "\\boxed{" + "7" * 100000 + "}", "fail"),
    ("digits_100k_phrase", "1", "The answer is " + "7" * 100000, "unparseable"),
    # 19k digits pass the literal-size screen; the factorial / power scans were quadratic on them
    ("digits_19k", "1", "\\boxed{" + "7" * 19000 + "}", "unparseable"),
    ("decimal_19k", "0.5", "\\boxed{0." + "4" * 19000 + "}", "unparseable"),
    ("units_regex_bomb", "1", "\\boxed{1" + " cm" * 600 + " x}", "unparseable"),
    ("juxtaposed_bomb", "1", "\\boxed{" + "1 " * 990 + "x}", "unparseable"),
    ("pm_chain", "1", "\\boxed{" + "\\pm 1" * 400 + "}", "unparseable"),
    (
        "power_of_matrix",
        "1",
        "\\boxed{\\begin{pmatrix}1&1\\\\1&0\\end{pmatrix}^{100000000}}",
        "fail",
    ),
    # arguments written as powers: refused by the screen instead of burning the CAS bound
    ("gamma_of_power", "1", "\\boxed{\\Gamma(10^{8})}", "fail"),
    ("binom_of_powers", "1", "\\boxed{\\binom{10^{9}}{10^{8}}}", "fail"),
    ("factorial_of_power", "1", "\\boxed{(10^{6})!}", "fail"),
    ("many_boxes", "1", "\\boxed{1} or " * 5000, "pass"),
    ("unclosed_boxes", "1", "\\boxed{" * 50000, "unparseable"),
]


def test_case_table_is_big_and_balanced():
    assert len(CASES) >= 150
    statuses = Counter(row["status"] for row in CASES)
    assert statuses["pass"] >= 100 and statuses["fail"] >= 100
    for note in {row["note"] for row in CASES}:
        assert {row["status"] for row in CASES if row["note"] == note} != set() and note.startswith(
            "indep_"
        )


@pytest.mark.parametrize("row", CASES, ids=[f"{i}-{row['note']}" for i, row in enumerate(CASES)])
def test_independent_case(row):
    verdict = verifiers.get("math@1").verify(row["response"], row["reference"])
    assert verdict.status.value == row["status"], (
        row.get("policy"),
        verdict.failure_reason,
        verdict.details,
    )


def test_independent_cases_through_batch_api_match():
    items = [
        GradeItem(row["response"], row["reference"], "math@1", i) for i, row in enumerate(CASES)
    ]
    verdicts = grade_batch(items, workers=2, timeout_s=60)
    wrong = [
        (row["note"], row["response"][-60:], v.status.value)
        for row, v in zip(CASES, verdicts)
        if v.status.value != row["status"]
    ]
    assert wrong == []


@pytest.mark.parametrize("note,gold,response,status", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_ends_with_a_verdict(note, gold, response, status):
    verdict = verifiers.get("math@1").verify(response, {"answer": gold})
    assert verdict.status.value == status, (verdict.failure_reason, verdict.details)
