"""Fast, CAS-free decisions: plain numbers, multiple-choice letters, short text answers, hedges.

:func:`fast_decision` returns a :class:`Decision` when it can decide without sympy, else ``None``
(the pair then goes to the CAS helper).

>>> from verifiers.math.normalize import analyse
>>> cfg = MathConfig()
>>> fast_decision(analyse("25\\\\%"), analyse("0.25"), cfg)
Decision(equal=True, how='number_percent', code='')
>>> fast_decision(analyse("100"), analyse("99.99"), cfg).equal
False
>>> fast_decision(analyse("3"), analyse("3 or 4"), cfg).code
'hedged'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .config import MathConfig
from .normalize import Answer, analyse, clean, nesting_split

_CHOICE_IN_TEXT = re.compile(r"^\(?([A-Ja-j])\)?(?:[.:)]|\s|$)")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d{1,2}$")  # never 3 digits: "1,000" is a thousand
_CLOCK = re.compile(r"^\d{1,2}\s*:\s*\d\d$")
_COMMA_NUMBER = re.compile(r"^[+-]?\d+,\d+$")
_OTHER_CHOICE = re.compile(r"\(([A-Ja-j])\)|\b([A-J])\b")


@dataclass(frozen=True)
class Decision:
    """Equal or not, which comparison decided, and the failure code when not equal."""

    equal: bool
    how: str
    code: str = ""


def fast_decision(
    gold: Answer, pred: Answer, config: MathConfig, version: int = 1
) -> Decision | None:
    """Decide without a CAS when the kinds allow it; ``None`` means "ask the CAS".

    ``version`` 2 also reads ``1,22`` as the decimal 1.22 when the other side is one number (a
    two-element list otherwise), compares ratios side by side and lists as sets of distinct values.
    """
    if version >= 2:
        gold, pred = _decimal_comma(gold, pred), _decimal_comma(pred, gold)
        if "ratio" in (gold.kind, pred.kind):
            return _ratio(gold, pred)
    if gold.kind == "number" and gold.inexact and _DECIMAL_COMMA.match(clean(pred.raw)):
        # "1000,99" against the decimal gold 1000.99
        pred = analyse(clean(pred.raw).replace(",", "."))
    if gold.kind != "multi" and pred.kind == "multi" and not is_set_literal(gold.text):
        distinct = _distinct(pred.parts, config)
        if len(distinct) > 1:
            return Decision(False, "hedge", "hedged")
        pred = distinct[0]
    if gold.kind == "choice":
        return _choice(gold, pred)
    if gold.kind == "text":
        same = pred.kind == "text" and pred.text == gold.text
        return Decision(same, "text_casefold", "" if same else "wrong_answer")
    if pred.kind in ("choice", "text") and gold.kind in ("number", "multi"):
        return Decision(False, "kind_mismatch", "wrong_answer")
    if gold.kind == "multi" or pred.kind == "multi":
        return _multi(gold, pred, config, version)
    if gold.kind == "number" and pred.kind == "number":
        return numbers_decision(gold, pred, config)
    return None


def is_set_literal(text: str) -> bool:
    """``\\{1, 2\\}``: a gold set of several elements, which a bare list ``2, 1`` may match (in the
    CAS)."""
    return text.startswith("\\{") and text.endswith("\\}") and len(nesting_split(text[2:-2])) > 1


def _choice(gold: Answer, pred: Answer) -> Decision:
    letter = pred.text if pred.kind == "choice" else None
    if letter is None:
        text = pred.raw.strip().strip("$").replace("\\text{", "").lstrip("{")
        found = _CHOICE_IN_TEXT.match(text)
        letter = found.group(1).upper() if found else None
        others = (
            {(a or b).upper() for a, b in _OTHER_CHOICE.findall(text[found.end() :])}
            if found
            else set()
        )
        if others - {letter}:  # "(A)(B)" names two choices: a hedge, not A
            return Decision(False, "choice_letter", "hedged")
    same = letter == gold.text
    return Decision(same, "choice_letter", "" if same else "wrong_answer")


def _multi(gold: Answer, pred: Answer, config: MathConfig, version: int = 1) -> Decision | None:
    golds, preds = gold.alternatives, pred.alternatives
    if version >= 2:  # a list of answers is a set: "(3,17), (3,17)" names one solution
        golds, preds = tuple(_distinct(golds, config)), tuple(_distinct(preds, config))
    if all(a.kind in ("text", "choice") for a in golds + preds):
        same = sorted(a.text for a in golds) == sorted(a.text for a in preds)
        return Decision(same, "text_multiset", "" if same else "wrong_answer")
    if not all(a.kind == "number" for a in golds + preds):
        if pred.kind == "multi" and gold.kind == "multi" and len(golds) != len(preds):
            return Decision(False, "answer_count", "wrong_answer")
        return None
    if len(golds) != len(preds):
        return Decision(False, "answer_count", "wrong_answer")
    unused = list(preds)
    for g in golds:
        match = next((p for p in unused if numbers_decision(g, p, config).equal), None)
        if match is None:
            return Decision(False, "number_multiset", "wrong_answer")
        unused.remove(match)
    return Decision(True, "number_multiset")


def _decimal_comma(answer: Answer, other: Answer) -> Answer:
    """``1,22`` or ``0,111`` (not digit groups) read as a decimal when the other side is one
    number."""
    text = clean(answer.raw, 2)
    if answer.kind == "multi" and other.kind == "number" and _COMMA_NUMBER.match(text):
        decimal = analyse(text.replace(",", "."), version=2)
        if decimal.kind == "number":
            return decimal
    return answer


def _ratio(gold: Answer, pred: Answer) -> Decision:
    """``a:b`` against ``c:d``: equal side by side only, so ``12:00`` is not ``1:00``. Against a
    number, a ratio is its quotient (``3:4`` is 3/4), unless it is written like a clock time
    (``3:00``)."""
    if gold.kind == pred.kind == "ratio":
        same = all(g.value == p.value for g, p in zip(gold.parts, pred.parts))
        return Decision(same, "ratio_sides", "" if same else "wrong_answer")
    ratio, number = (gold, pred) if gold.kind == "ratio" else (pred, gold)
    quotient = _quotient(ratio)
    same = number.kind == "number" and quotient is not None and quotient == number.value
    return Decision(same, "ratio_quotient", "" if same else "wrong_answer")


def _quotient(ratio: Answer) -> Fraction | None:
    left, right = ratio.parts
    if _CLOCK.match(ratio.text) or not right.value:
        return None
    return left.value / right.value


def _distinct(parts: tuple[Answer, ...], config: MathConfig) -> list[Answer]:
    kept: list[Answer] = []
    for part in parts:
        if part.kind == "number":
            duplicate = any(
                k.kind == "number" and numbers_decision(k, part, config).equal for k in kept
            )
        else:
            duplicate = any(_squashed(k.text) == _squashed(part.text) for k in kept)
        if not duplicate:
            kept.append(part)
    return kept


def _squashed(text: str) -> str:
    return "".join(text.split())


def numbers_decision(gold: Answer, pred: Answer, config: MathConfig) -> Decision:
    """Two plain numbers: exact unless the gold is a decimal; the percent rule applied."""
    if gold.lhs and pred.lhs and gold.lhs != pred.lhs:
        return Decision(False, "number_variable", "wrong_answer")
    inexact = gold.inexact  # an exact gold is matched exactly: 0.3333333333 is not 1/3
    for g_value, g_pct in _readings(gold, config.percent_rule):
        for p_value, p_pct in _readings(pred, config.percent_rule):
            if close(g_value, p_value, inexact, config.rel_tol):
                how = (
                    "number_percent"
                    if (g_pct or p_pct)
                    else ("number_relative" if inexact else "number_exact")
                )
                return Decision(True, how)
    return Decision(False, "number_relative" if inexact else "number_exact", "wrong_answer")


def _readings(answer: Answer, rule: str) -> list[tuple[Fraction, bool]]:
    """The values a number may mean under the percent rule (``25%`` -> 25 and/or 0.25)."""
    if not answer.percent or rule == "strip":
        return [(answer.value, False)]
    if rule == "strict":
        return [(answer.value / 100, True)]
    return [(answer.value, False), (answer.value / 100, True)]


def close(a: Fraction, b: Fraction, inexact: bool, rel_tol: float) -> bool:
    """Exact equality, or (with a decimal involved) ``|a-b| <= rel_tol * max(|a|,|b|)`` in exact
    arithmetic."""
    if a == b:
        return True
    if not inexact:
        return False
    return abs(a - b) <= Fraction(rel_tol) * max(abs(a), abs(b))
