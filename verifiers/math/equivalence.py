"""Symbolic equivalence of two answers, with sympy. Runs only inside the CAS helper process.

LaTeX parsing is math-verify's (called with its ``signal.alarm`` timeout disabled: the helper
process is the bound). What this module adds on top of ``math_verify.verify``:

* exact comparison of exact numbers (``1/2004!`` vs ``1/2006!`` and ``2^{-99}`` vs ``2^{-98}``
  differ), a *relative* tolerance only when a decimal is involved, and no rounded decimal
  ever equal to an irrational gold (``\\pi/2`` vs ``1.5708``);
* equations compared as equations: ``x=3`` vs ``3`` by the right-hand side, two general
  equations by proportional ``lhs - rhs`` (two identities ``0 = 0`` never match different ones);
* parenthesised pairs kept as ordered pairs, compared as intervals only against a set;
* a hedge (a set of several values against a single gold) is never a pass.

>>> judge(["\\\\frac{1}{2}"], ["0.5"], 1e-9)["equal"]
True
>>> judge(["2^{-99}"], ["2^{-98}"], 1e-9)["equal"]
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy
from sympy import (
    Eq,
    FiniteSet,
    Float,
    I,
    Interval,
    MatrixBase,
    Rational,
    Set,
    Symbol,
)

from sympy.core.relational import Relational

from .normalize import QUALIFIER_RE, nesting_split
from .simple_latex import parse_simple

_DIGIT_OVERLINE = re.compile(r"\\overline\s*\{\s*\d")
_JUXTAPOSED_DIGITS = re.compile(r"(?<![_^\d])\d+\s+\d")  # "5 7", but not "\\log_2 8"
_TEXT_GROUP = re.compile(r"\\(?:text|mbox|mathrm|textbf)\s*\{([^{}]*)\}")
_SCI_E = re.compile(r"(\d)[eE](-?\d+)(?![\d.])|(\d\.\d*)[eE]\+?(\d+)(?![\d.])")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
_SAMPLES = (Rational(7, 10), Rational(13, 10), Rational(-11, 7), Rational(23, 9), Rational(-5, 13))


_LOGIC = (Relational, sympy.And, sympy.Or)


class Bracketed:
    """A parenthesised / bracketed list, e.g. a point ``(1, 2)`` or an interval ``[1, 2)``."""

    def __init__(self, left: str, right: str, items: tuple[Any, ...]) -> None:
        self.left, self.right, self.items = left, right, items

    def as_interval(self) -> Set | None:
        if len(self.items) != 2 or not all(isinstance(i, sympy.Expr) for i in self.items):
            return None
        try:
            return Interval(self.items[0], self.items[1], self.left == "(", self.right == ")")
        except (TypeError, ValueError):
            return None

    def __str__(self) -> str:
        return self.left + ", ".join(form(i) for i in self.items) + self.right


def parse_math(text: str) -> Any:
    """A sympy object (or :class:`Bracketed`) for ``text``; ``None`` when it does not parse."""
    outer = re.match(r"^(\\?[(\[{])(.*)(\\?[)\]}])$", text.strip(), re.S)
    if (
        outer
        and outer.group(1)[-1] in "(["
        and outer.group(3)[-1] in ")]"
        and _encloses(text.strip())
    ):
        items = nesting_split(outer.group(2))
        if len(items) >= 2:
            parsed = tuple(parse_math(item) for item in items)
            return (
                None
                if any(p is None for p in parsed)
                else Bracketed(outer.group(1), outer.group(3), parsed)
            )
    if outer and outer.group(1) == "\\{" and outer.group(3) == "\\}" and _encloses(text.strip()):
        items = [parse_math(item) for item in nesting_split(outer.group(2))]
        if items and all(isinstance(item, sympy.Expr) for item in items):
            return FiniteSet(*items)
    if _DIGIT_OVERLINE.search(text):  # math-verify drops the bar: 0.\overline{3} would read as 0
        return None
    if _JUXTAPOSED_DIGITS.search(text) or "\\pm" in text or "\\mp" in text:
        return None  # math-verify reads "5 7" as 12 and "\\pm 1 \\pm 1" as 1
    if any(QUALIFIER_RE.search(words) for words in _TEXT_GROUP.findall(text)):
        return None  # math-verify drops \text{}: "5 \text{ or more}" would read as 5
    simple = parse_simple(text)
    if simple is not None:
        return simple
    return _parse_latex(_SCI_E.sub(_sci_times, text))


def _sci_times(match: re.Match) -> str:
    """``6.02e23`` -> ``6.02\\times10^{23}``; ``2e+1`` is left alone (it may be 2e + 1)."""
    mantissa, exponent = (
        (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    )
    return f"{mantissa}\\times10^{{{exponent}}}"


def _encloses(text: str) -> bool:
    """True when the first bracket of ``text`` closes only at its last character."""
    depth = 0
    for pos, char in enumerate(text):
        depth += 1 if char in "([{" else -1 if char in ")]}" else 0
        if depth == 0 and pos < len(text) - 1:
            return False
    return True


def _parse_latex(text: str) -> Any:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    for config in (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()):
        wrapped = "\\boxed{" + text + "}" if isinstance(config, LatexExtractionConfig) else text
        found = parse(wrapped, extraction_config=[config], parsing_timeout=None)
        if isinstance(config, ExprExtractionConfig) and (
            len(found) < 2 or _squash(found[1]) != _squash(text)
        ):
            return None  # the plain-expression reader picks a number out of any text ("3 @ 4" -> 4)
        for obj in found:
            if isinstance(obj, (sympy.Basic, MatrixBase)):
                return _imaginary(obj)
    return None


def _squash(text: Any) -> str:
    return re.sub(r"\s+", "", str(text))


def _imaginary(obj: Any) -> Any:
    if isinstance(obj, sympy.Basic):
        units = {s: I for s in obj.free_symbols if getattr(s, "name", "") == "i"}
        return obj.subs(units) if units else obj
    return obj


@lru_cache(maxsize=4096)
def parse_gold(text: str) -> Any:
    """Cached :func:`parse_math` for gold answers (the helper process lives across items)."""
    return parse_math(text)


@lru_cache(maxsize=4096)
def parse_pred(text: str) -> Any:
    """Cached :func:`parse_math` for answers (a group of samples often repeats an answer)."""
    return parse_math(text)


def form(obj: Any) -> str:
    """A short, deterministic printed form for the verdict details."""
    try:
        text = str(obj)
    except (ValueError, RecursionError):
        text = f"<{type(obj).__name__}>"
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass(frozen=True)
class Rules:
    """How one comparison is decided: the decimal tolerance and the verifier's behaviour version."""

    rel_tol: float = 1e-9
    version: int = 1
    relation_answers_set: bool = True
    """A relation answer (``-2 \\le x \\le 7``) may match a set gold (``x \\in [-2, 7]``)."""


def judge(
    gold_parts: list[str],
    pred_parts: list[str],
    rel_tol: float,
    version: int = 1,
    relation_answers_set: bool = True,
) -> dict[str, Any]:
    """Compare two answers (each a list of alternatives) and say how it was decided.

    ``version`` 2 (``math@2``) also evaluates matrix sums and products, compares chains of
    relations side by side (``f(2) < f(1) < f(4)``), lists as sets (a repeated element is not a
    second answer) and reads a decimal inside an exact expression exactly (``\\sqrt{10.5}``).
    """
    rules = Rules(rel_tol, version, relation_answers_set)
    golds = [parse_gold(p) for p in gold_parts]
    if any(g is None for g in golds):
        return {"outcome": "gold_unparseable"}
    preds = [parse_pred(p) for p in pred_parts]
    if any(p is None for p in preds):
        return {"outcome": "pred_unparseable", "gold_form": ", ".join(form(g) for g in golds)}
    if version >= 2:
        golds, preds = (
            _distinct([_settled(g) for g in golds]),
            _distinct([_settled(p) for p in preds]),
        )
    equal, how = _compare_lists(golds, preds, rules)
    if not equal and version >= 2 and _exact_reading_applies(gold_parts, pred_parts):
        exact = [parse_math(_DECIMAL.sub(_decimal_fraction, p)) for p in pred_parts]
        if None not in exact and _compare_lists(golds, [_settled(p) for p in exact], rules)[0]:
            equal, how = True, "decimal_read_exactly"
    return {
        "outcome": "compared",
        "equal": equal,
        "how": how,
        "gold_form": ", ".join(form(g) for g in golds),
        "pred_form": ", ".join(form(p) for p in preds),
    }


def _compare_lists(golds: list[Any], preds: list[Any], rules: Rules) -> tuple[bool, str]:
    golds, preds = _flatten_sets(golds, preds), _flatten_sets(preds, golds)
    if len(golds) == 1 and len(preds) == 1:
        return equal_objects(golds[0], preds[0], rules)
    return _match_all(golds, preds, rules)


def _settled(obj: Any) -> Any:
    """An unevaluated matrix sum or product (as parsed) evaluated to its matrix; else ``obj``."""
    if isinstance(obj, sympy.MatrixExpr) and not isinstance(obj, MatrixBase):
        try:
            done = obj.doit()
        except (TypeError, ValueError, AttributeError, sympy.ShapeError):
            return obj
        return done if isinstance(done, MatrixBase) else obj
    return obj


def _distinct(objs: list[Any]) -> list[Any]:
    """Drop repeats that are the same object as an earlier one (``(3,17),(3,17)`` lists one
    pair)."""
    kept: list[Any] = []
    for obj in objs:
        if not any(_same_form(obj, k) for k in kept):
            kept.append(obj)
    return kept


def _same_form(a: Any, b: Any) -> bool:
    """The same object, or the same printed expression (symbols that differ only in assumptions)."""
    try:
        return bool(a == b) or form(a) == form(b) and len(form(a)) < 197
    except (TypeError, ValueError):
        return False


def _exact_reading_applies(gold_parts: list[str], pred_parts: list[str]) -> bool:
    return any(_DECIMAL.search(p) for p in pred_parts) and not any(
        _DECIMAL.search(g) for g in gold_parts
    )


def _decimal_fraction(match: re.Match) -> str:
    whole, digits = match.group(1), match.group(2)
    return f"\\frac{{{int(whole + digits)}}}{{{10 ** len(digits)}}}"


def _flatten_sets(objs: list[Any], other: list[Any]) -> list[Any]:
    """``{2, -2}`` against the list ``2, -2``: compare element by element."""
    if len(objs) == 1 and len(other) > 1 and isinstance(objs[0], FiniteSet):
        return list(objs[0].args)
    return objs


def _match_all(golds: list[Any], preds: list[Any], rules: Rules) -> tuple[bool, str]:
    if len(golds) == 1 and len(preds) > 1:
        return False, "hedged"
    if len(golds) != len(preds):
        return False, "different_count"
    unused = list(preds)  # equivalence is transitive, so a greedy matching is a perfect one
    for g in golds:
        match = next((i for i, p in enumerate(unused) if equal_objects(g, p, rules)[0]), None)
        if match is None:
            return False, "unordered_list"
        unused.pop(match)
    return True, "unordered_list"


def equal_objects(g: Any, p: Any, rules: Rules) -> tuple[bool, str]:
    """Whether gold ``g`` and prediction ``p`` denote the same mathematical object."""
    # the same object: no CAS work (simplify can take seconds)
    if rules.version >= 2 and _same_form(g, p):
        return True, "structural"
    for handler in _HANDLERS_V2 if rules.version >= 2 else _HANDLERS:
        result = handler(g, p, rules)
        if result is not None:
            return result
    if isinstance(g, sympy.Expr) and isinstance(p, sympy.Expr):
        return expressions_equal(g, p, rules)
    return (g == p), "structural"


def _bracketed(g: Any, p: Any, rules: Rules) -> tuple[bool, str] | None:
    if isinstance(g, Bracketed) and isinstance(p, Bracketed):
        if len(g.items) != len(p.items):
            return False, "tuple_length"
        same = all(equal_objects(a, b, rules)[0] for a, b in zip(g.items, p.items))
        brackets = (g.left, g.right) == (p.left, p.right)
        return same and brackets, "ordered_tuple"
    if isinstance(g, Bracketed) or isinstance(p, Bracketed):
        as_set = [x.as_interval() if isinstance(x, Bracketed) else x for x in (g, p)]
        if not rules.relation_answers_set and isinstance(g, Bracketed) and isinstance(p, _LOGIC):
            return False, "relation_vs_set"
        if all(isinstance(x, Set) for x in as_set) or any(isinstance(x, _LOGIC) for x in (g, p)):
            if None not in as_set:
                return equal_objects(as_set[0], as_set[1], rules)
        return False, "tuple_vs_other"
    return None


def _matrices(g: Any, p: Any, rules: Rules) -> tuple[bool, str] | None:
    if not (isinstance(g, MatrixBase) or isinstance(p, MatrixBase)):
        return None
    if not (isinstance(g, MatrixBase) and isinstance(p, MatrixBase)) or g.shape != p.shape:
        return False, "matrix_shape"
    same = all(expressions_equal(a, b, rules)[0] for a, b in zip(g, p))
    return same, "matrix_entries"


def _assignment(obj: Any) -> tuple[Any, Any] | None:
    if isinstance(obj, Eq) and isinstance(obj.lhs, Symbol):
        return obj.lhs, obj.rhs
    return None


def _numeric_chain(obj: Any) -> list[Any] | None:
    """Sides of a computation such as ``2 \\cdot 3 = 6`` or ``6 = 2 \\cdot 3 = 6`` (no variables),
    else ``None``."""
    eqs = list(obj.args) if isinstance(obj, sympy.And) else [obj]
    if not eqs or not all(isinstance(e, Eq) for e in eqs):
        return None
    sides = [side for e in eqs for side in (e.lhs, e.rhs)]
    if any(getattr(side, "free_symbols", None) for side in sides):
        return None
    # a bare identity of literals ("1 = 1") is not a computation and keeps the general rule
    return sides if any(not getattr(side, "is_Atom", True) for side in sides) else None


def _relations(g: Any, p: Any, rules: Rules) -> tuple[bool, str] | None:
    if (
        not rules.relation_answers_set
        and _set_like(g)
        and isinstance(p, _LOGIC)
        and not _set_like(p)
    ):
        return False, "relation_vs_set"
    chain = _numeric_chain(p)
    if chain is not None and not isinstance(g, (Relational, sympy.logic.boolalg.Boolean)):
        # "the answer is 2 \cdot 3 = 6": a pass only when every side equals the gold, so a
        # false statement ending in the right number ("2 \cdot 3 = 7" for gold 7) still fails
        return all(equal_objects(g, side, rules)[0] for side in chain), "numeric_equation_chain"
    g_assign, p_assign = _assignment(g), _assignment(p)
    if g_assign and p_assign and g_assign[0] == p_assign[0]:
        return equal_objects(g_assign[1], p_assign[1], rules)
    if g_assign and not isinstance(p, (Relational, sympy.logic.boolalg.Boolean)):
        return equal_objects(g_assign[1], p, rules)
    if p_assign and not isinstance(g, (Relational, sympy.logic.boolalg.Boolean)):
        return equal_objects(g, p_assign[1], rules)
    if isinstance(g, Eq) and isinstance(p, Eq):
        return _equations(g, p)
    if isinstance(g, _LOGIC) or isinstance(p, _LOGIC):
        sets = [_as_set_v2(x) if rules.version >= 2 else _as_set(x) for x in (g, p)]
        if None in sets:
            return False, "relation_mismatch"
        return _sets(sets[0], sets[1], rules) or (sets[0] == sets[1], "relation_as_set")
    return None


def _set_like(obj: Any) -> bool:
    return isinstance(obj, Set) or (isinstance(obj, Eq) and isinstance(obj.rhs, Set))


def _same_relations(g: Any, p: Any, rules: Rules) -> tuple[bool, str] | None:
    """Two chains of inequalities with the same relations between equal sides (either direction)."""
    gs, ps = _relation_list(g), _relation_list(p)
    if gs is None or ps is None or len(gs) != len(ps):
        return None
    unused = list(ps)
    for kind, left, right in gs:
        match = next(
            (
                i
                for i, (k, a, b) in enumerate(unused)
                if k == kind and _sides_equal((left, right), (a, b), rules, ordered=kind != "!=")
            ),
            None,
        )
        if match is None:
            return None  # let the other rules (relations as sets) decide
        unused.pop(match)
    return True, "relation_chain"


def _relation_list(obj: Any) -> list[tuple[str, Any, Any]] | None:
    """``a > b`` -> ``("<", b, a)``: each relation of an inequality chain, pointing one way."""
    parts = list(obj.args) if isinstance(obj, sympy.And) else [obj]
    out = []
    for rel in parts:
        kind = _DIRECTION.get(type(rel))
        if kind is None:
            return None
        symbol, flip = kind
        out.append((symbol, rel.rhs, rel.lhs) if flip else (symbol, rel.lhs, rel.rhs))
    return out if any(k != "!=" for k, _, _ in out) or len(out) > 1 else None


def _as_set_v2(obj: Any) -> Any:
    """As version 1, but a chain around an unknown function (``0 < f(x) < 1``) is the interval of
    its values."""
    found = _as_set(obj)
    if found is None or found.has(sympy.ConditionSet):
        return _chain_interval(obj) or found
    return found


def _chain_interval(obj: Any) -> Set | None:
    """``0 < f(x) < 1`` -> the interval ``(0, 1)``: two numeric bounds around one term that is not a
    number."""
    relations = _relation_list(obj) if isinstance(obj, sympy.And) else None
    if relations is None or len(relations) != 2 or any(k == "!=" for k, _, _ in relations):
        return None
    (k1, a, b), (k2, c, d) = relations
    if b == c:
        (lower, low), (middle, high, upper) = (k1, a), (b, d, k2)
    elif d == a:
        (lower, low), (middle, high, upper) = (k2, c), (d, b, k1)
    else:
        return None
    if (
        not (getattr(low, "is_number", False) and getattr(high, "is_number", False))
        or middle.is_number
    ):
        return None
    try:
        return Interval(low, high, lower == "<", upper == "<")
    except (TypeError, ValueError):
        return None


def _sides_equal(g: tuple[Any, Any], p: tuple[Any, Any], rules: Rules, ordered: bool) -> bool:
    same = all(equal_objects(a, b, rules)[0] for a, b in zip(g, p))
    return same or (
        not ordered and all(equal_objects(a, b, rules)[0] for a, b in zip(g, reversed(p)))
    )


def _equations(g: Eq, p: Eq) -> tuple[bool, str]:
    """Two equations are the same when ``lhs - rhs`` agree up to a non-zero constant factor."""
    dg, dp = sympy.simplify(g.lhs - g.rhs), sympy.simplify(p.lhs - p.rhs)
    if dg == 0 or dp == 0:  # identities: never equal to a different equation
        return (sympy.srepr(g) == sympy.srepr(p)), "degenerate_equation"
    ratio = sympy.simplify(dg / dp)
    return bool(ratio.is_number and ratio != 0 and ratio.is_finite), "equation_ratio"


def _as_set(obj: Any) -> Any:
    if isinstance(obj, Set):
        return obj
    if isinstance(obj, Eq) and isinstance(obj.rhs, Set):
        return obj.rhs
    symbols = getattr(obj, "free_symbols", set())
    if len(symbols) != 1:
        return None
    try:
        return obj.as_set()
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None


def _sets(g: Any, p: Any, rules: Rules) -> tuple[bool, str] | None:
    if not (isinstance(g, Set) and isinstance(p, Set)):
        if isinstance(g, FiniteSet) and len(g) == 1 and isinstance(p, sympy.Expr):
            return equal_objects(g.args[0], p, rules)
        if isinstance(p, FiniteSet) and len(p) == 1 and isinstance(g, sympy.Expr):
            return equal_objects(g, p.args[0], rules)
        return None
    if isinstance(g, FiniteSet) and isinstance(p, FiniteSet):
        return _match_all(list(g.args), list(p.args), rules)[0], "set_elements"
    try:
        difference = sympy.simplify(g.symmetric_difference(p))
    except (TypeError, ValueError, NotImplementedError):
        return False, "set_undecided"
    return difference == sympy.S.EmptySet, "set_difference"


def _hedge(g: Any, p: Any, rules: Rules) -> tuple[bool, str] | None:
    if isinstance(p, FiniteSet) and len(p) > 1 and not isinstance(g, Set):
        return False, "hedged"
    if isinstance(g, Set) != isinstance(p, Set):
        return False, "set_vs_value"
    return None


_HANDLERS = (_bracketed, _matrices, _relations, _sets, _hedge)
_HANDLERS_V2 = (_bracketed, _matrices, _same_relations, _relations, _sets, _hedge)
_DIRECTION = {
    sympy.StrictLessThan: ("<", False),
    sympy.LessThan: ("<=", False),
    sympy.StrictGreaterThan: ("<", True),
    sympy.GreaterThan: ("<=", True),
    sympy.Ne: ("!=", False),
}


def expressions_equal(g: Any, p: Any, rules: Rules) -> tuple[bool, str]:
    """Scalars: exact values exactly, decimals relatively, symbols by simplification."""
    if g == p:
        return True, "structural"
    if g.free_symbols or p.free_symbols:
        return _symbolic(g, p, rules)
    g, p = g.doit(), p.doit()
    if g.is_Rational and p.is_Rational:
        return (g == p), "exact"
    if p.has(Float) and not g.has(Float):
        # a decimal against an exact gold: only an exact rewriting passes (0.5\pi == \pi/2,
        # 1.5708 != \pi/2)
        exact_p = p.xreplace({f: Rational(str(f)) for f in p.atoms(Float)})
        return _exactly_close(g, exact_p), "decimal_vs_exact"
    if g.has(Float) or p.has(Float):
        return _numeric_close(g, p, rules.rel_tol), "numeric_relative"
    return _exactly_close(g, p), "exact_constant_60_digits"


def _exactly_close(g: Any, p: Any) -> bool:
    """Two exact constants: equal at 60 digits, confirmed at 160 (so \\pi + 10^{-40} is not
    \\pi)."""
    return _numeric_close(g, p, 1e-30) and _numeric_close(g, p, Rational(1, 10**120), digits=160)


def _numeric_close(g: Any, p: Any, tol: Any, digits: int = 60) -> bool:
    gv, pv = sympy.N(g, digits), sympy.N(p, digits)
    if (
        not (gv.is_number and pv.is_number)
        or gv.has(sympy.zoo, sympy.nan)
        or pv.has(sympy.zoo, sympy.nan)
    ):
        return False
    if not (gv.is_finite and pv.is_finite):
        return bool(gv == pv)
    scale = max(abs(gv), abs(pv))
    if scale == 0:
        return True
    return bool(abs(gv - pv) <= tol * scale)


def _symbolic(g: Any, p: Any, rules: Rules) -> tuple[bool, str]:
    """Refute fast at sample points; prove by expand / simplify / trigsimp; else trust the
    samples."""
    decimals = g.has(Float) or p.has(Float)
    samples = _sampled(g, p, rules.rel_tol if decimals else 1e-45)
    if samples == "differs":
        return False, "numeric_refuted"
    diff = g - p
    if sympy.expand(diff) == 0:
        return True, "expand"
    # decided exactly: never trust samples a polynomial can vanish at
    if not decimals and diff.is_rational_function():
        return bool(sympy.cancel(sympy.together(diff)) == 0), "rational_function"
    if sympy.simplify(diff) == 0:
        return True, "simplify"
    if sympy.trigsimp(diff) == 0:
        return True, "trigsimp"
    return samples == "agrees", "numeric_sampling"


def _sampled(g: Any, p: Any, tol: float) -> str:
    """``differs`` when some fixed rational point gives clearly different finite values,
    ``agrees`` when all points agree (rationals exactly, others to ``tol`` at 60 digits),
    else ``unknown`` (undefined at some point)."""
    symbols = sorted(g.free_symbols | p.free_symbols, key=str)
    verdict = "agrees"
    for value in _SAMPLES:
        point = {s: value + Rational(k, 3) for k, s in enumerate(symbols)}
        try:
            gv, pv = g.subs(point), p.subs(point)
            if gv.is_Rational and pv.is_Rational:
                if gv != pv:
                    return "differs"
                continue
            gn, pn = sympy.N(gv, 60), sympy.N(pv, 60)
        except (TypeError, ValueError, ZeroDivisionError, AttributeError):
            verdict = "unknown"
            continue
        if not (gn.is_number and pn.is_number and gn.is_finite and pn.is_finite):
            verdict = "unknown"
            continue
        scale = max(abs(gn), abs(pn))
        if abs(gn - pn) > max(tol, 1e-20) * scale:
            return "differs"
        if abs(gn - pn) > tol * scale:
            verdict = "unknown"
    return verdict
