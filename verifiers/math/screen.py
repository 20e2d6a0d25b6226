"""Pre-screening: refuse inputs that would blow up a CAS before any CAS sees them.

Cheap string checks only (linear time): NUL and control bytes, length, nesting depth, and an
estimate of how many digits a number denotes (power towers ``9^{9^{9^{9}}}``, ``10^{10^{10}}``,
huge factorials ``100000000!``, huge literals).

>>> screen_answer("9^{9^{9^{9}}}", max_chars=2000, max_nesting=60, max_digits=20000)
('too_large', 'a power tower or huge power would have more than 20000 digits')
>>> screen_answer("2^{-99}", max_chars=2000, max_nesting=60, max_digits=20000) is None
True
"""

from __future__ import annotations

import math
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FACTORIAL = re.compile(r"(?<!\d)(\d+)\s*!|\\(?:factorial|Gamma)\s*\{?\(?\s*(\d+)")
# lookbehind: linear on digit runs
_POWER = re.compile(r"((?<![\d.])\d+(?:\.\d+)?|\\pi|e|\))\s*\^\s*")
_DIGITS = re.compile(r"\d+")
_COMBINATORIAL = re.compile(r"\\(?:Gamma|factorial|d?binom|tbinom)\s*(?=[{(])")


def screen_answer(
    text: str, *, max_chars: int, max_nesting: int, max_digits: int
) -> tuple[str, str] | None:
    """``(code, message)`` when ``text`` must not reach the CAS, else ``None``."""
    if "\x00" in text or _CONTROL.search(text):
        return "control_characters", "the answer contains NUL or control characters"
    if nesting_depth(text) > max_nesting:
        return "too_deep", f"the answer nests deeper than {max_nesting} levels"
    if any(len(d) > max_digits for d in _DIGITS.findall(text)):
        return "too_large", f"the answer has a literal with more than {max_digits} digits"
    for match in _FACTORIAL.finditer(text):
        n = int(match.group(1) or match.group(2))
        if n > 1000 and n * math.log10(n / math.e) > max_digits:
            return "too_large", f"{n}! has more than {max_digits} digits"
    if _power_digits(text) > max_digits:
        return "too_large", f"a power tower or huge power would have more than {max_digits} digits"
    if _huge_combinatorial(text, max_digits):
        return (
            "too_large",
            f"a factorial, Gamma or binomial of a huge argument would have more than {max_digits} "
            "digits",
        )
    if len(text) > max_chars:
        return "answer_too_long", f"the answer has {len(text)} characters (limit {max_chars})"
    return None


def _huge_combinatorial(text: str, max_digits: int) -> bool:
    """``\\Gamma(10^{8})``, ``\\binom{10^9}{10^8}``, ``(10^{6})!``: arguments given as powers."""
    for match in _COMBINATORIAL.finditer(text):
        args = [_argument_at(text, match.end())]
        if (
            match.group(0).lstrip("\\").startswith(("binom", "dbinom", "tbinom"))
            and args[0] is not None
        ):
            args.append(_argument_at(text, match.end() + len(args[0]) + 2))
        sizes = [_argument_size(a) for a in args if a is not None]
        smallest = min(sizes) if sizes else 0.0  # binom(n, 1) is small; n and k both large is not
        if smallest > 1000 and smallest * math.log10(smallest) > max_digits:
            return True
    for match in re.finditer(r"\)\s*!", text):
        start = _opening(text, match.start())
        if start is not None and _argument_size(text[start + 1 : match.start()]) > 5000:
            return True
    return False


def _argument_at(text: str, start: int) -> str | None:
    """The ``{...}`` or ``(...)`` group that starts at ``start`` (its content)."""
    if text[start : start + 1] != "(":
        return _group_at(text, start)
    depth = 0
    for pos in range(start, min(len(text), start + 400)):
        depth += {"(": 1, ")": -1}.get(text[pos], 0)
        if depth == 0:
            return text[start + 1 : pos]
    return None


def _argument_size(arg: str) -> float:
    """Rough value of an argument: a literal, or ``a^{b}`` estimated in log space; 0 if unknown."""
    arg = arg.strip("{}() ")
    if arg.isdigit():
        return float(arg) if len(arg) < 300 else math.inf
    digits = _power_digits(arg)
    return 0.0 if digits == 0 else (math.inf if digits > 300 else 10.0**digits)


def _opening(text: str, close: int) -> int | None:
    depth = 0
    for pos in range(close, max(close - 400, -1), -1):
        depth += {")": 1, "(": -1}.get(text[pos], 0)
        if depth == 0:
            return pos
    return None


def nesting_depth(text: str) -> int:
    """Deepest nesting of ``([{`` brackets (mismatched closers are ignored)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}" and depth:
            depth -= 1
    return deepest


def _power_digits(text: str) -> float:
    """Upper estimate of the digits of the largest ``a^{b}`` in ``text`` (towers folded right)."""
    worst = 0.0
    for match in _POWER.finditer(text):
        base = match.group(1)
        base_log = 1.0 if not base[0].isdigit() else math.log10(max(float(base), 2.0))
        exponent = _exponent_magnitude(text, match.end())
        worst = max(worst, base_log * exponent)
        if worst == math.inf:
            break
    return worst


def _exponent_magnitude(text: str, start: int) -> float:
    """Absolute value of the exponent starting at ``start``, towers evaluated in log space."""
    body = _group_at(text, start)
    if body is None:
        return 0.0
    if "^" not in body:
        numbers = [float(n) for n in _DIGITS.findall(body)[:4]] or [0.0]
        if "!" in body:
            return math.inf if max(numbers) > 170 else float(math.factorial(int(max(numbers))))
        return max(numbers) if "/" not in body and "frac" not in body else 1.0
    inner = _power_digits(body)
    return math.inf if inner > 300 else 10.0**inner


def _group_at(text: str, start: int) -> str | None:
    """The braced group or single token that starts at ``start``."""
    if start >= len(text):
        return None
    if text[start] != "{":
        token = re.match(r"-?\d+(?:\.\d+)?|\\?[a-zA-Z]+|.", text[start:])
        return token.group(0) if token else None
    depth = 0
    for pos in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[pos], 0)
        if depth == 0:
            return text[start + 1 : pos]
    return text[start + 1 :]
