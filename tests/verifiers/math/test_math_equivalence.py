"""Equivalence rules of math@1: exact numbers, relative tolerance, structures, equations, hedges.

Run in-process against the sympy layer (``equivalence.judge``) and the CAS-free layer
(``compare.fast_decision``), and end-to-end through ``MathVerifier.verify``.
"""

from __future__ import annotations

import logging
from fractions import Fraction

import pytest

from verifiers.math import MathConfig, MathVerifier
from verifiers.math.compare import close, fast_decision
from verifiers.math.equivalence import judge
from verifiers.math.normalize import analyse, parse_number

logging.getLogger("math_verify").setLevel(logging.CRITICAL)


@pytest.mark.parametrize(
    "gold, pred, equal",
    [
        ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False),
        ("2^{-99}", "2^{-98}", False),
        ("2^{-99}", "\\frac{1}{2^{99}}", True),
        ("\\frac{\\pi}{2}", "1.5708", False),
        ("\\frac{\\pi}{2}", "1.5707963267948966", False),
        ("\\frac{\\pi}{2}", "0.5\\pi", True),
        ("(x+1)^2", "x^2+2x+1", True),
        ("(x+y+z)^{30}", "(x+y+z)^{30}+1", False),
        ("\\sin^2 x+\\cos^2 x", "1", True),
        ("3+4i", "4i+3", True),
        ("3+4i", "3-4i", False),
        ("(3,1)", "(5,2)", False),
        ("(-\\infty, 2)", "(2, \\infty)", False),
        ("x<2", "(-\\infty,2)", True),
        ("x<2", "(-\\infty,2]", False),
        ("[1,2) \\cup (3,4]", "(3,4] \\cup [1,2)", True),
        ("x+y=1", "2x+2y=2", True),
        ("x+y=1", "x-y=1", False),
        ("x-x=0", "y-y=0", False),
        ("x=3", "y=3", False),
        ("3", "\\{3,4\\}", False),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{bmatrix}1\\\\2\\end{bmatrix}", True),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1&2\\end{pmatrix}", False),
        ("e", "2.718281828", False),
        ("\\infty", "\\infty", True),
    ],
)
def test_cas_equivalence(gold, pred, equal):
    result = judge([gold], [pred], 1e-9)
    assert result["outcome"] == "compared"
    assert result["equal"] is equal, result


def test_cas_multiset_matching_and_counts():
    assert judge(["2", "-2"], ["-2", "2"], 1e-9)["equal"] is True
    assert judge(["2", "-2"], ["\\{2, -2\\}"], 1e-9)["equal"] is True
    assert judge(["2", "-2"], ["2", "2"], 1e-9)["equal"] is False
    assert judge(["x+1"], ["x+1", "x-1"], 1e-9)["how"] == "hedged"


def test_cas_reports_unparseable_sides():
    assert judge(["\\frac{"], ["3"], 1e-9)["outcome"] == "gold_unparseable"
    assert judge(["3"], ["\\frac{}{}"], 1e-9)["outcome"] == "pred_unparseable"


@pytest.mark.parametrize(
    "text, value, inexact",
    [
        ("42", Fraction(42), False),
        ("-0.25", Fraction(-1, 4), True),
        ("6.02e23", Fraction(602) * 10**21, True),
        ("2.5\\times10^{3}", Fraction(2500), True),
        ("10^{-3}", Fraction(1, 1000), False),
        ("\\frac{3}{-6}", Fraction(-1, 2), False),
        ("-3/4", Fraction(-3, 4), False),
    ],
)
def test_parse_number(text, value, inexact):
    assert parse_number(text) == (value, inexact)


@pytest.mark.parametrize("text", ["1/0", "\\frac{1}{0}", "x", "2^{3}", "1e999999"])
def test_parse_number_refuses(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    "raw, kind, text",
    [
        ("\\$1{,}000.50", "number", "\\$1000.50"),
        ("1\\,000", "number", "1000"),
        ("\\text{(B)}", "choice", "B"),
        ("\\text{Monday}", "text", "monday"),
        ("5x", "math", "5x"),
        ("12 \\text{ cm}^2", "number", "12 \\text{ cm}^2"),
        ("\\left( 1, 2 \\right)", "math", "( 1, 2 )"),
        ("3 4", "math", "3 4"),
        ("- 7", "number", "- 7"),
    ],
)
def test_analyse_kinds(raw, kind, text):
    answer = analyse(raw)
    assert (answer.kind, answer.text) == (kind, text)


def test_units_are_stripped_with_care():
    assert analyse("5 meters").value == 5
    assert analyse("5x").kind == "math"  # a variable is not a unit
    assert analyse("5m").kind == "math"


def test_relative_tolerance_is_exact_for_tiny_and_huge_values():
    tiny = Fraction(1, 10**400)
    assert not close(tiny, tiny * 2, True, 1e-9)
    assert close(tiny, tiny * (1 + Fraction(1, 10**12)), True, 1e-9)
    assert not close(Fraction(1000000), Fraction(1000001), True, 1e-9)
    assert not close(Fraction(1, 3), Fraction(333333, 1000000), True, 1e-9)


@pytest.mark.parametrize(
    "rule, gold, pred, equal",
    [
        ("either", "25\\%", "0.25", True),
        ("either", "25\\%", "25", True),
        ("either", "0.25", "25\\%", True),
        ("strip", "25\\%", "25", True),
        ("strip", "25\\%", "0.25", False),
        ("strict", "25\\%", "0.25", True),
        ("strict", "25\\%", "25", False),
    ],
)
def test_percent_rules(rule, gold, pred, equal):
    decision = fast_decision(analyse(gold), analyse(pred), MathConfig(percent_rule=rule))
    assert decision.equal is equal


def test_fast_path_hedges_and_duplicates():
    cfg = MathConfig()
    assert fast_decision(analyse("3"), analyse("3 or 4"), cfg).code == "hedged"
    assert fast_decision(analyse("3"), analyse("3 or 3.0"), cfg).equal is True
    assert fast_decision(analyse("B"), analyse("B or C"), cfg).code == "hedged"
    assert fast_decision(analyse("2, -2"), analyse("-2, 2"), cfg).equal is True
    assert fast_decision(analyse("x^2"), analyse("y^2"), cfg) is None  # needs the CAS


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"timeout_s": 0}, r"timeout_s=0 must be > 0"),
        ({"fallback": "first"}, r"fallback='first' is not one of"),
        ({"percent_rule": "maybe"}, r"percent_rule='maybe' is not one of"),
        ({"rel_tol": 0.01}, r"rel_tol=0.01 must lie in \[0, 1e-4\)"),
        ({"max_nesting": 0}, r"max_nesting=0 must be >= 1"),
    ],
)
def test_config_validation_names_the_value_and_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MathConfig(**kwargs)


def test_fallback_off_makes_bare_numbers_unparseable():
    verifier = MathVerifier(MathConfig(fallback="off"))
    verdict = verifier.verify("I think it is 7", {"answer": "7"})
    assert verdict.status.value == "unparseable" and verdict.failure_reason.code == "no_answer"
    assert (
        MathVerifier().verify("I think it is 7", {"answer": "7"}).details["extraction_rule"]
        == "last_number"
    )
