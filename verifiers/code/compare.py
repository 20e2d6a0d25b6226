"""Token-by-token comparison of program output (stdin/stdout tests).

Outputs are split on whitespace; both must have the **same number of tokens** (so output that
only shares a prefix with the expected output fails). Tokens are equal when they are the same
string, or when both are decimal numbers (``-12``, ``3.5``, ``1e-3``) within
``abs_tol`` or ``rel_tol`` of each other (defaults ``1e-9`` and ``1e-6``).

>>> compare_output("3\\n1.0000000001 x", "3 1.0 x").ok
True
>>> compare_output("1 2", "1 2 3").ok
False
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
REL_TOL = 1e-6
ABS_TOL = 1e-9


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare_output`: ``ok`` and, when not ok, a short deterministic message."""

    ok: bool
    message: str = ""


def tokens_equal(
    got: str, expected: str, *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL
) -> bool:
    """Equal strings, or two decimal numbers within tolerance."""
    if got == expected:
        return True
    if NUMBER.match(got) and NUMBER.match(expected):
        a, b = float(got), float(expected)
        return (
            math.isfinite(a)
            and math.isfinite(b)
            and math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
        )
    return False


def compare_output(
    got: str, expected: str, *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL
) -> Comparison:
    """Compare whole outputs token by token (see the module docstring)."""
    got_tokens, expected_tokens = got.split(), expected.split()
    for index, (g, e) in enumerate(zip(got_tokens, expected_tokens)):
        if not tokens_equal(g, e, rel_tol=rel_tol, abs_tol=abs_tol):
            return Comparison(False, f"token {index + 1}: expected {_clip(e)}, got {_clip(g)}")
    if len(got_tokens) < len(expected_tokens):
        return Comparison(
            False, f"output ended after {len(got_tokens)} of {len(expected_tokens)} tokens"
        )
    if len(got_tokens) > len(expected_tokens):
        extra = len(got_tokens) - len(expected_tokens)
        return Comparison(
            False, f"output has {extra} extra token(s) after the expected {len(expected_tokens)}"
        )
    return Comparison(True)


def _clip(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:37] + "...")
