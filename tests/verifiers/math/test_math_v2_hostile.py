"""``math@2``'s new reading rules (sentences, rewrites, several boxes) stay linear on hostile
responses.

Each response below was built against one of version 2's scanners (math spans, sentence splitting,
answer phrases, assignment groups, label rewrites, chat-template tokens). Graded in worker processes
with a generous per-item bound, each must end as a decided verdict, never a ``timeout`` (a
quadratic scan on these megabyte inputs takes minutes) and never a pass.
"""

from __future__ import annotations

import pytest
from test_math_hostile import HOSTILE, MEGABYTE_RESPONSES

from verifiers import GradeItem, Status, grade_batch

ADVERSARIAL = [
    "\\(" * 300_000,
    "\\[" * 300_000,
    "$$" * 300_000,
    "$ a" * 200_000,
    "```" * 200_000,
    "The answer is " + "1, " * 300_000,
    "is 1 and " * 100_000,
    "\\boxed{" + "a " * 400_000 + "}",
    "<|im_start|>" * 100_000,
    "x = " * 200_000,
    "(" * 300_000 + "," * 300_000,
    "\\boxed{" + "(1;" * 100_000 + "}",
    "\\boxed{" + "=1" * 100_000 + "}",
    "\\boxed{" + "a<" * 100_000 + "}",
    "We get " + "$1$ and " * 100_000,
    "The largest n is " + "\\\\" * 300_000,
    "\n\n".join(["So we get 6"] * 100_000),
    "\\boxed{" + "p=5,q=2;" * 50_000 + "}",
    "\\boxed{" + "\\text{a}" * 100_000 + "}",
    "Answer: " + "(C) " * 200_000,
    "Therefore " + "she reads 45 pages over 3 days, " * 30_000 + ".",
]
CASES = (
    [(response, gold) for gold, response, _, _ in HOSTILE]
    + [(response, "5") for response, _, _ in MEGABYTE_RESPONSES if "answer is 5" not in response]
    + [(response, "5") for response in ADVERSARIAL]
)


@pytest.fixture(scope="module")
def verdicts():
    items = [
        GradeItem(response, {"answer": gold}, "math@2", n)
        for n, (response, gold) in enumerate(CASES)
    ]
    return grade_batch(items, workers=2, timeout_s=60)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[repr(c[0][:24]) for c in CASES])
def test_hostile_response_is_decided_and_not_passed(index, verdicts):
    verdict = verdicts[index]
    assert verdict.status in (Status.FAIL, Status.UNPARSEABLE), (
        CASES[index][0][:60],
        verdict.failure_reason,
    )
