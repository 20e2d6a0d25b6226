"""Final-answer extraction: boxed (nested), phrases, GSM8K, fallback, hedges kept together."""

from __future__ import annotations

import pytest

from verifiers.math.extract import Extraction, extract_answer


@pytest.mark.parametrize(
    "response, rule, text",
    [
        ("so $\\boxed{\\frac{1}{2}}$.", "boxed", "\\frac{1}{2}"),
        (
            "\\boxed{\\begin{pmatrix}1\\\\2\\end{pmatrix}}",
            "boxed",
            "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
        ),
        ("\\fbox{7}", "boxed", "7"),
        ("\\boxed 5", "boxed", "5"),
        ("\\boxed{3} then later \\boxed{4}", "boxed", "4"),
        ("\\boxed{3} or \\boxed{4}", "boxed_multi", "3, 4"),
        ("\\boxed{3}, \\boxed{4}", "boxed_multi", "3, 4"),
        ("$\\boxed{3}$ \\text{ or } $\\boxed{3}$", "boxed", "3"),
        ("The answer is $5$. I hope", "answer_phrase", "5"),
        ("the final answer is 12.", "answer_phrase", "12"),
        (
            "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.",
            "answer_phrase",
            "\\frac{3}{4}",
        ),
        ("Answer: 3.5.", "answer_phrase", "3.5"),
        ("The answer is $\\$17$.", "answer_phrase", "\\$17"),
        ("steps\n#### 1,000", "gsm8k", "1,000"),
        ("Answer: 5\n#### 6", "gsm8k", "6"),
        ("#### 6\nSo the answer is 7", "answer_phrase", "7"),
        ("I got 3 apples then 7 pears", "last_number", "7"),
        ("Answer:\n$5$", "answer_phrase", "5"),
        ("it costs 1,250, so", "last_number", "1,250"),
    ],
)
def test_extraction_rules(response, rule, text):
    assert extract_answer(response, "last_number") == Extraction(rule, text)


def test_fallback_off_finds_nothing():
    assert extract_answer("I got 3 apples then 7 pears", "off") is None
    assert extract_answer("no digits at all", "last_number") is None


def test_unbalanced_box_is_ignored_and_empty_box_is_empty():
    assert extract_answer("\\boxed{3", "off") is None
    assert extract_answer("\\boxed{}", "off") == Extraction("boxed", "")


def test_deeply_nested_box_does_not_recurse():
    deep = "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}"
    found = extract_answer(deep, "off")
    assert found.rule == "boxed" and len(found.text) == 10001
