"""``math@2`` on real model outputs with human labels: ProcessBench
(``../shared/conformance/processbench/``).

ProcessBench holds model-written solutions, split into steps, each labelled by people with
``final_answer_correct``. It carries no gold answers, but several problems were solved by
several models. For every problem, every solution labelled correct serves as a gold *worked
solution* (``{"solution": ...}``: ``math@2`` takes its final answer), and every other solution of
the same problem is graded against it: the verdict must be a pass when that solution is labelled
correct and must never be a pass when it is labelled wrong. Both sides are real, unedited model
outputs (boxed or not, prose endings, markdown), so this checks extraction and equivalence
together. Every false pass and every disagreement is listed in ``verifiers/math/CONFORMANCE.md``.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from conformance_paths import ROOT, documented, suite_path

from verifiers.math import MathVerifier, MathVerifierV2
from verifiers.math.extract import extract_answer

DOC = ROOT / "verifiers" / "math" / "CONFORMANCE.md"
SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")


def pairs() -> list[dict]:
    """(gold solution, other solution, expected) for every labelled-correct gold of a shared
    problem."""
    out = []
    for subset in SUBSETS:
        records = json.loads(
            suite_path("processbench", f"{subset}.json").read_text(encoding="utf-8")
        )
        by_problem = defaultdict(list)
        for record in records:
            by_problem[record["problem"]].append(record)
        for group in by_problem.values():
            for gold in (r for r in group if r["final_answer_correct"]):
                for other in (r for r in group if r is not gold):
                    out.append(
                        {
                            "id": f"{gold['id']}->{other['id']}",
                            "gold": "\n\n".join(gold["steps"]),
                            "response": "\n\n".join(other["steps"]),
                            "expected": other["final_answer_correct"],
                        }
                    )
    return out


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return pairs()


def test_pairs_are_many_and_mixed(cases):
    assert len(cases) == 744
    assert sum(c["expected"] for c in cases) == 278  # pairs that must pass; the other 466 must not


def test_math_v2_never_passes_an_answer_people_marked_wrong(cases):
    verifier = MathVerifierV2()
    verdicts = {c["id"]: verifier.verify(c["response"], {"solution": c["gold"]}) for c in cases}
    false_passes = {c["id"] for c in cases if verdicts[c["id"]].passed and not c["expected"]}
    agree = sum(verdicts[c["id"]].passed == c["expected"] for c in cases)
    print(
        f"math@2 on ProcessBench answer pairs: {agree}/{len(cases)} agree, {len(false_passes)} "
        "false passes"
    )
    assert false_passes == documented(DOC, "ProcessBench pairs: false passes")
    assert agree / len(cases) >= 0.96


def test_math_v1_numbers_are_pinned(cases):
    """math@1 takes no worked-solution gold: its own extraction gives the gold answer here."""
    verifier = MathVerifier()
    agree = false_passes = 0
    for case in cases:
        gold = extract_answer(case["gold"], "last_number")
        passed = (
            gold is not None and verifier.verify(case["response"], {"answer": gold.text}).passed
        )
        agree += passed == case["expected"]
        false_passes += passed and not case["expected"]
    assert (agree, false_passes) == (709, 3)
