"""String rewrites ``math@2`` applies to an extracted answer before it is read (no CAS involved).

Each rule turns a way people write an answer into the form the comparison already understands:

* ``\\\\frac`` (a doubled backslash before a command, as JSON-escaped text often has) -> ``\\frac``;
  ``\\mathrm{e}`` -> ``e`` and ``\\mathrm{i}`` -> ``i``; ``\\5.50`` (a ``$`` lost before a price) ->
  ``5.50``;
* ``(0;-2;6)`` -> ``(0,-2,6)``: a semicolon inside brackets separates coordinates;
* ``(11,7)or(7,11)`` -> ``(11,7), (7,11)``; ``{1,2,3}`` (plain braces) -> ``\\{1,2,3\\}``;
* ``p=5,q=2;p=7,q=2`` -> ``(5, 2), (7, 2)``: groups of assignments to the same names are tuples;
* per top-level alternative: ``a = b \\approx c`` -> ``a = b``; an equality chain keeps its first
  side when that is a variable and its last side (``x = 5+5+1 = 11`` -> ``x = 11``); a *label*
  before ``=`` is dropped when the value is a constant (``(p,q)=(3,2)`` -> ``(3,2)``,
  ``|AB|=1`` -> ``1``, ``S_{MBCN}:S=7:32`` -> ``7:32``, ``\\sin \\angle ABC = \\frac{3}{5}`` ->
  ``\\frac{3}{5}``). A single variable (``x = 11``) and a real equation (``x^2+y^2=25``) are kept.

>>> canonical("(p,q)=(3,2)")
'(3,2)'
>>> canonical("x = 5+5+1 = 7 = 11")
'x = 11'
>>> canonical("AB=4,CD=5")
'4, 5'
>>> canonical("x^2+y^2=25")
'x^2+y^2=25'
"""

from __future__ import annotations

import re

_COMMANDS = (
    "frac|dfrac|tfrac|sqrt|left|right|pi|boxed|text|cdot|times|infty|le|ge|leq|geq|neq|in|cup|cap|"
    "mathrm|mathbf|begin|end|pm|mp|sin|cos|tan|log|ln|theta|alpha|beta|gamma|circ|angle|overline|"
    "emptyset|varnothing|approx|div|quad|qquad|dots|ldots|mathbb|operatorname|exp"
)
_DOUBLED = re.compile(r"(?<!\\)\\\\(?=(?:" + _COMMANDS + r")(?![A-Za-z]))")
_ROMAN_CONSTANT = re.compile(r"\\(?:mathrm|text|operatorname)\s*\{\s*([ei])\s*\}")
_LOST_DOLLAR = re.compile(r"(?<!\\)\\(?=\d)")
_BRACKET_OR = re.compile(r"(?<=[)\]])\s*(?:or|and|\\text\{\s*(?:or|and)\s*\})\s*(?=[(\[])")
_PLAIN_SET = re.compile(r"^\{(?P<body>[^{}]*,[^{}]*)\}$")
_ASSIGNMENT = re.compile(r"^\s*(?P<name>[A-Za-z](?:_\{?\w+\}?)?)\s*=\s*(?P<value>[^=<>]+?)\s*$")
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
_SPLIT_WORDS = re.compile(r"\\text\{\s*(?:or|and)\s*\}|\s+or\s+|\s+and\s+")
_APPROX = re.compile(r"\\approx|\u2248")
_RELATION = re.compile(
    r"\\(?:le|ge|leq|geq|neq|ne|lt|gt|in)(?![A-Za-z])|[<>\u2264\u2265\u2260]|\\approx"
)
_SIMPLE_VARIABLE = re.compile(
    r"^\s*(?:[A-Za-z]|\\(?:alpha|beta|gamma|theta|lambda|mu|phi|omega))"
    r"(?:_\{?\w+\}?)?\s*(?:\(\s*[a-z]\s*\))?\s*$"
)
_LABEL = re.compile(r"^[\sA-Za-z_{}()|:,'\\]+$")
_LABEL_COMMANDS = re.compile(
    r"\\(?:angle|measuredangle|triangle|overline|sin|cos|tan|cot|sec|csc|frac|dfrac|"
    r"left|right|mathrm|text|vert|lvert|rvert|mid|,|;|!| )(?![A-Za-z])"
)
_SUBSCRIPT = re.compile(r"_\{?\w+\}?")
_LETTER = re.compile(r"(?<!\\)[A-Za-z]")
_CONSTANT_WORDS = re.compile(
    r"\\(?:pi|sqrt|frac|dfrac|tfrac|infty|cdot|times|left|right|circ|text\{[^{}]*\}|"
    r"mathrm\{[^{}]*\}|[,;! ])|\^|\be\b|\bi\b"
)


def canonical(text: str) -> str:
    """The rewritten answer; rules in the module docstring. Linear in the length of ``text``."""
    text = _DOUBLED.sub(lambda _: "\\", text)
    text = _ROMAN_CONSTANT.sub(r"\1", text)
    text = _LOST_DOLLAR.sub("", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    text = _BRACKET_OR.sub(", ", _semicolons_in_brackets(text))
    plain_set = _PLAIN_SET.match(text)
    if plain_set is not None:
        text = "\\{" + plain_set.group("body") + "\\}"
    grouped = _assignment_groups(text)
    if grouped is not None:
        return grouped
    pieces = alternatives(text)
    if len(pieces) == 1:
        return _one_answer(text)
    rewritten = [_one_answer(p) for p in pieces]
    return text if rewritten == pieces else ", ".join(rewritten)


def top_level_split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` characters outside every bracket (``\\{``, ``\\left(``
    count); the commas of a digit-grouped number (``1,000``) never split."""
    pieces, depth, start = [], 0, 0
    grouped = {
        m.start() + i for m in _GROUPED.finditer(text) for i, c in enumerate(m.group(0)) if c == ","
    }
    for pos, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char == separator and pos not in grouped:
            pieces.append(text[start:pos])
            start = pos + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces]


def alternatives(text: str) -> list[str]:
    """The top-level alternatives of an answer: split at commas and at "or" / "and" outside
    brackets."""
    return top_level_split(_SPLIT_WORDS.sub(",", text), ",")


def assignments_as_tuple(text: str) -> str | None:
    """``x = 2, y = 3`` -> ``(2, 3)`` (names in alphabetical order); ``None`` unless every
    alternative assigns a value to a different single-letter name."""
    parts = [_ASSIGNMENT.match(p) for p in alternatives(text)]
    if len(parts) < 2 or None in parts:
        return None
    names = [m.group("name") for m in parts]
    if len(set(names)) != len(names) or any(len(n) != 1 for n in names):
        return None
    return (
        "("
        + ", ".join(m.group("value") for m in sorted(parts, key=lambda m: m.group("name")))
        + ")"
    )


def tuple_size(text: str) -> int:
    """How many items a parenthesised tuple ``(a, b)`` has (0 when ``text`` is not one)."""
    text = text.strip()
    if not (text.startswith("(") and text.endswith(")")) or len(top_level_split(text, ",")) != 1:
        return 0
    return len(top_level_split(text[1:-1], ","))


def is_relation(text: str) -> bool:
    """True when ``text`` states a relation at top level (``=``, ``<``, ``\\le``, ``\\in`` ...)."""
    return bool(top_level_sides(text)[1]) or bool(_RELATION.search(_outside_brackets(text)))


def top_level_sides(text: str) -> tuple[list[str], list[str]]:
    """Sides of ``text`` split at top-level ``=`` (not ``<=``, ``>=``, ``!=``), and the ``=``
    found."""
    sides, depth, start = [], 0, 0
    for pos, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "=" and depth == 0 and (pos == 0 or text[pos - 1] not in "<>!\\:"):
            sides.append(text[start:pos].strip())
            start = pos + 1
    sides.append(text[start:].strip())
    return sides, ["="] * (len(sides) - 1)


def last_side(text: str) -> str:
    """The last side of an equation (``\\sin x = \\frac{1}{2}`` -> ``\\frac{1}{2}``); ``text`` if
    none."""
    sides, _ = top_level_sides(text)
    return sides[-1] if len(sides) > 1 and sides[-1] else text


def _one_answer(text: str) -> str:
    approx = _APPROX.search(text)
    if approx is not None and "=" in text[: approx.start()]:
        # "x = 1/3 \approx 0.33": the exact value is the answer
        text = text[: approx.start()].strip()
    sides, _ = top_level_sides(text)
    if len(sides) < 2 or not all(sides):
        return text
    first, last = sides[0], sides[-1]
    if _is_label(first) and _is_constant(last):
        return last
    if len(sides) > 2:
        return f"{first} = {last}" if _SIMPLE_VARIABLE.match(first) else last
    return text


def _is_label(lhs: str) -> bool:
    """A name for the answer rather than an expression: ``(p,q)``, ``|AB|``, ``A:B``,
    ``\\angle ABC``."""
    if _SIMPLE_VARIABLE.match(lhs):
        return False
    lhs = _SUBSCRIPT.sub("_", lhs)
    if not _LABEL.match(lhs):
        return False
    return bool(_LETTER.search(_LABEL_COMMANDS.sub(" ", lhs)))


def _is_constant(value: str) -> bool:
    """No variable letters: numbers, ``\\pi``, ``e``, ``i``, radicals, tuples and ratios of
    those."""
    return not _LETTER.search(_CONSTANT_WORDS.sub(" ", value))


def _semicolons_in_brackets(text: str) -> str:
    if ";" not in text:
        return text
    out, depth = [], 0
    for char in text:
        depth += 1 if char in "([{" else -1 if char in ")]}" else 0
        out.append("," if char == ";" and depth > 0 else char)
    return "".join(out)


def _assignment_groups(text: str) -> str | None:
    """``p=5,q=2;p=7,q=2`` -> ``(5, 2), (7, 2)``; ``None`` unless every group assigns the same
    names."""
    groups = top_level_split(text, ";")
    if len(groups) < 2:
        return None
    tuples, names = [], None
    for group in groups:
        parts = [_ASSIGNMENT.match(p) for p in top_level_split(group, ",")]
        if len(parts) < 2 or None in parts:
            return None
        these = [m.group("name") for m in parts]
        if names is not None and these != names or len(set(these)) != len(these):
            return None
        names = these
        tuples.append("(" + ", ".join(m.group("value") for m in parts) + ")")
    return ", ".join(tuples)


def _outside_brackets(text: str) -> str:
    out, depth = [], 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)
