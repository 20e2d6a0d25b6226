"""``math@2`` on QA's second independent set (``independent_cases_v2.jsonl``).

QA wrote these 262 cases without reading the verifier: realistic endings of model outputs (markdown
headings, answers in sentences, several boxes, cut-off responses, GSM8K ``####``, worked-solution
golds) with the verdict a careful human grader gives (``pass``, ``fail`` or ``unparseable``) and
why.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from verifiers import GradeItem, grade_batch

CASES = [
    json.loads(line)
    for line in Path(__file__)
    .with_name("independent_cases_v2.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def verdicts():
    items = [GradeItem(c["response"], c["reference"], "math@2", n) for n, c in enumerate(CASES)]
    return grade_batch(items, workers=2, timeout_s=60)


def test_the_set_is_balanced():
    counts = Counter(c["status"] for c in CASES)
    assert (
        len(CASES) >= 250
        and counts["pass"] > 100
        and counts["fail"] > 100
        and counts["unparseable"] > 15
    )


@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{n}:{c['note']}" for n, c in enumerate(CASES)]
)
def test_case(index, verdicts):
    case, verdict = CASES[index], verdicts[index]
    assert verdict.status.value == case["status"], (
        case["why"],
        verdict.failure_reason,
        dict(verdict.details),
    )
