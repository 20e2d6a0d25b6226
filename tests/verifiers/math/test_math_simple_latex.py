"""The strict fast LaTeX parser agrees with math-verify's parser wherever it accepts an input."""

from __future__ import annotations

import logging

import pytest
import sympy
from math_verify import LatexExtractionConfig, parse

from verifiers.math.simple_latex import parse_simple

logging.getLogger("math_verify").setLevel(logging.CRITICAL)

ACCEPTED = [
    "42",
    "-7",
    "x^2+2x+1",
    "(x+1)(x-2)",
    "3\\sqrt{2}",
    "\\sqrt{18}",
    "\\sqrt[3]{8}",
    "\\frac{3\\pi}{4}",
    "\\dfrac{1}{2}",
    "2^{-99}",
    "2^10",
    "x^23",
    "-2^2",
    "e^{2}",
    "3+4i",
    "xy+2yx",
    "\\frac{x}{x+1}",
    "y=2x+3",
    "2 \\cdot 3",
    "6 \\times 7",
    "\\left(x+1\\right)^2",
    "a/b/c",
    "2^{2^{3}}",
    "-\\frac{2}{3}",
]
REFUSED = [
    "2^-1",
    "2.5",
    "\\sin x",
    "x2",
    "1 2",
    "X+1",
    "\\frac{1}{0}",
    "x^y^z",
    "1,2",
    "\\{1\\}",
    "x=x",
    "",
    "\\ln 2",
]


def math_verify_value(text: str):
    return parse(
        "\\boxed{" + text + "}",
        extraction_config=[LatexExtractionConfig(boxed_match_priority=0)],
        parsing_timeout=None,
    )[0]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_inputs_match_math_verify(text):
    mine, theirs = parse_simple(text), math_verify_value(text)
    assert mine is not None
    theirs = theirs.subs({s: sympy.I for s in theirs.free_symbols if s.name == "i"})
    if isinstance(mine, sympy.Eq):
        assert sympy.simplify((mine.lhs - mine.rhs) - (theirs.lhs - theirs.rhs)) == 0
    else:
        assert sympy.simplify(mine - theirs) == 0, (mine, theirs)


@pytest.mark.parametrize("text", REFUSED)
def test_refused_inputs_fall_back(text):
    assert parse_simple(text) is None
