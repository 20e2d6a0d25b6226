"""Plain-string normalisation of answers, and the fast path that reads plain numbers without a CAS.

An :class:`Answer` is what the verifier knows about one answer string before any CAS runs:
its cleaned LaTeX, its kind (``number``, ``choice``, ``text`` or ``math``), its exact value when it
is a plain number, and its top-level alternatives (``2, -2``; ``x=\\pm 2``; ``3 or 4``).

>>> a = analyse("\\\\$1{,}000.50")
>>> a.kind, a.value, a.inexact
('number', Fraction(2001, 2), True)
>>> [p.text for p in analyse("x = \\\\pm 2").parts]
['x = +2', 'x = -2']
>>> analyse("\\\\text{(B)}").kind, analyse("\\\\text{Monday}").kind
('choice', 'text')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

_WRAPPERS = re.compile(
    r"^\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{(.*)\}$", re.S
)
_INNER_TEXT = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox)\s*\{([^{}]*)\}")
_SPACING = re.compile(
    r"(?<!\\)\\[!;: ]|\\(?:q?quad|displaystyle|left|right|big|Big|bigg|Bigg)(?![a-zA-Z])|~"
)
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\circ|\s*\bdegrees?\b")
_CURRENCY = re.compile(r"\\\$|\$|\bUSD\b|€|£|\\euro|\\pounds|\bdollars?\b|\bcents?\b|\bRs\.?")
_PERCENT = re.compile(r"\\%|%|\s*\bpercent\b")
_PERCENT_V2 = re.compile(r"\\%|%|\s*\b(?:percent|percentage|pct)\b")
_GROUPED_V2 = re.compile(r"(?<![\d.,])[+-]?[1-9]\d{0,2}(?:,\d{3})+(?![\d,])")
_RATIO = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)$")
_UNIT_WORDS = (
    "cm|mm|km|m|kg|g|mg|lb|lbs|pounds|oz|ounces|s|sec|secs|seconds?|min|mins|minutes?|h|hr|hrs|"
    "hours?|days?|"
    "weeks?|months?|years?|inch|inches|in|ft|feet|foot|yards?|yd|miles?|mi|mph|kph|meters?|metres?|"
    "centimeters?|millimeters?|kilometers?|grams?|kilograms?|liters?|litres?|ml|mL|L|units?|"
    "square|sq|cubic|"
    "people|students|apples|items|points|times|ways|cookies|pages|marbles|books|cars|dogs|cats|"
    "boxes|eggs"
)
_UNIT_TAIL = re.compile(
    r"^(?P<num>.*?[\d}])\s*(?:(?:\\(?:text|mathrm|mbox)\s*\{[^{}]*\}|\b(?:"
    + _UNIT_WORDS
    + r")\b)(?:\^\{?\d\}?)?\s*)+$"
)
_ASSIGN = re.compile(r"^(?P<lhs>[a-zA-Z](?:_\{?\w+\}?)?)\s*=\s*(?P<rhs>[^=<>]+)$")
_CHOICE = re.compile(r"^\(?(?P<letter>[A-Ja-j])\)?[.:]?$")
_CHOICE_PREFIX = re.compile(r"^\((?P<letter>[A-Ja-j])\)|^(?P<letter2>[A-J])[.:)]\s")
_TEXT = re.compile(r"^[A-Za-z][A-Za-z' \-]*$")
_MATH_WORDS = frozenset(
    "sin cos tan cot sec csc log ln exp pi infty sqrt frac lim max min arcsin arccos "
    "arctan sinh cosh tanh det gcd lcm mod".split()
)
_TEXT_WORDS = frozenset("yes no true false none neither both odd even".split())
_DECIMAL = re.compile(r"^(?P<sign>[+-]?)(?P<mant>\d+\.?\d*|\.\d+)(?:[eE](?P<exp>[+-]?\d+))?$")
_SCI = re.compile(
    r"^(?P<sign>[+-]?)(?P<mant>\d+\.?\d*|\.\d+)\s*(?:\\times|\\cdot|\*|×)\s*10\s*\^\s*\{?(?P<exp>"
    r"[+-]?\d+)\}?$"
)
_POW10 = re.compile(r"^(?P<sign>[+-]?)10\s*\^\s*\{?(?P<exp>[+-]?\d+)\}?$")
_FRAC = re.compile(r"^(?P<sign>[+-]?)\\frac\s*\{(?P<num>[+-]?\d+)\}\s*\{(?P<den>[+-]?\d+)\}$")
_SLASH = re.compile(r"^(?P<sign>[+-]?)\(?(?P<num>[+-]?\d+)\)?\s*/\s*\(?(?P<den>[+-]?\d+)\)?$")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
_SPLIT_WORDS = re.compile(r"\\text\{\s*(?:or|and)\s*\}|\s+or\s+|\s+and\s+|\\quad|\\qquad")
_SCALE_WORDS = {
    "hundred": 10**2,
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_SCALE = re.compile(
    r"^(?P<num>[+-]?[\d.]+)\s*(?:\\(?:text|mathrm|mbox)\s*\{\s*(?P<word>"
    + "|".join(_SCALE_WORDS)
    + r")\s*(?P<trail>[^{}]*)\}|(?P<word2>"
    + "|".join(_SCALE_WORDS)
    + r")\b)(?P<rest>.*)$",
    re.I,
)
QUALIFIER_WORDS = (
    r"squared|cubed|more|less|fewer|than|least|most|plus|minus|not|over|under|below|above|"
    r"hundredths?|thousandths?|tenths?"
)
QUALIFIER_RE = re.compile(r"\b(?:" + QUALIFIER_WORDS + r")\b", re.I)
_FUNCTION_LHS = re.compile(r"^[a-zA-Z]\s*\(\s*[a-z](?:\s*,\s*[a-z])*\s*\)\s*=(?=[^=]*$)")
_TRIG_DEGREES = re.compile(
    r"\\(sin|cos|tan|cot|sec|csc)\s*\(?\s*(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)\s*\)?"
)
_MIXED = re.compile(
    r"^(?P<sign>[+-]?)(?P<whole>\d+)\s*\\frac\s*\{(?P<num>\d+)\}\s*\{(?P<den>\d+)\}$"
)
_REPEATING = re.compile(
    r"^(?P<sign>[+-]?)(?P<int>\d*)\.(?P<fixed>\d*)\\overline\s*\{(?P<rep>\d+)\}$"
)
_UNICODE = str.maketrans(
    {
        "\u2212": "-",
        "\u00d7": "\\times ",
        "\u22c5": "\\cdot ",
        "\u00b7": "\\cdot ",
        "\u00f7": "/",
        "\u03c0": "\\pi ",
        "\u221e": "\\infty ",
        "\u2264": "\\le ",
        "\u2265": "\\ge ",
        "\u222a": "\\cup ",
        "\u2229": "\\cap ",
        "\u2205": "\\emptyset ",
        "\u00b2": "^{2}",
        "\u00b3": "^{3}",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        **{chr(0xFF10 + d): str(d) for d in range(10)},
    }
)
_THIN_THOUSANDS = re.compile(r"(\d),\\!\s*(?=\d{3}(?!\d))")
_DELIMITERS = re.compile(r"^\$+|\$+$|^\\\(|\\\)$|^\\\[|\\\]$")
_BARE_FRAC = re.compile(r"\\frac\s*(\d)\s*(\d)")
_COMMA_SPACE_THOUSANDS = re.compile(r"(\d)\\,(?=\d{3}(?!\d))")
_APPROX = re.compile(r"^(?:\\approx|\\sim|\u2248)\s*")
_WHITESPACE = re.compile(r"\s+")
_UNICODE_ROOT = re.compile(r"\u221a\s*(\d+(?:\.\d+)?|[A-Za-z]|\\pi\b|\{[^{}]*\}|\([^()]*\))")


@dataclass(frozen=True)
class Answer:
    """One answer string, cleaned and classified (no CAS involved)."""

    raw: str
    text: str
    kind: str
    value: Fraction | None = None
    inexact: bool = False
    percent: bool = False
    lhs: str | None = None
    parts: tuple["Answer", ...] = field(default=())

    @property
    def alternatives(self) -> tuple["Answer", ...]:
        """The top-level alternatives (the answer itself when there is only one)."""
        return self.parts or (self,)


def analyse(raw: str, max_digits: int = 20_000, version: int = 1) -> Answer:
    """Clean ``raw`` and classify it; split top-level alternatives into ``parts``.

    ``version`` 2 (``math@2``) reads digit-group commas only outside brackets, so ``(1,100)`` is a
    pair and never 1100, never takes ``0,111`` for a grouped number, reads ``a:b`` between two
    numbers as a ratio (``12:00`` is not ``1:00``) and knows "pct" and "percentage".
    """
    text = clean(raw, version)
    pieces = split_alternatives(text)
    if len(pieces) > 1:
        parts = tuple(_single(piece, piece, max_digits, version) for piece in pieces)
        return Answer(raw, ", ".join(p.text for p in parts), "multi", parts=parts)
    return _single(raw, text, max_digits, version)


def clean(raw: str, version: int = 1) -> str:
    """Strip delimiters, spacing, wrappers and thousands separators; canonical ``\\frac``."""
    text = raw.strip().replace("\n", " ")
    text = _UNICODE_ROOT.sub(
        lambda m: "\\sqrt{" + m.group(1).strip("{}()") + "}", text.translate(_UNICODE)
    )
    text = _THIN_THOUSANDS.sub(r"\1", text).replace("\\varnothing", "\\emptyset")
    text = _DELIMITERS.sub("", text).strip()
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    text = _BARE_FRAC.sub(r"\\frac{\1}{\2}", text)
    text = _COMMA_SPACE_THOUSANDS.sub(r"\1", text)
    text = _SPACING.sub(" ", text).replace("\\,", " ")
    while (inner := _WRAPPERS.match(text.strip())) is not None:
        text = inner.group(1)
    if version >= 2:
        text = _top_level_thousands(text)
    else:
        text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    # \cos 60^\circ is 1/2, not cos(60)
    text = _TRIG_DEGREES.sub(r"\\\1(\\frac{\2\\pi}{180})", text)
    text = _APPROX.sub("", text.strip())  # "\approx 3.14" is read as 3.14
    # "f(x) = 2x+3" is answered like "y = 2x+3": by its value
    text = _FUNCTION_LHS.sub("", text.strip())
    text = _WHITESPACE.sub(" ", text).strip().rstrip(".").strip()
    return text


def _top_level_thousands(text: str) -> str:
    """Drop digit-group commas (``1,234,567``) outside brackets only; ``(1,100)`` keeps its
    comma."""
    depth_at, depth = [], 0  # only tuple, interval and set brackets count; LaTeX's {} groups do not
    for pos, char in enumerate(text):
        depth_at.append(depth)
        escaped = pos > 0 and text[pos - 1] == "\\"
        depth += (
            1
            if char in "([" or (char == "{" and escaped)
            else -1
            if char in ")]" or (char == "}" and escaped)
            else 0
        )
    return _GROUPED_V2.sub(
        lambda m: m.group(0).replace(",", "") if depth_at[m.start()] == 0 else m.group(0), text
    )


def split_alternatives(text: str) -> list[str]:
    """Split at top-level commas, semicolons, "or"/"and"; expand one top-level ``\\pm``."""
    pieces, depth, start = [], 0, 0
    marked = _SPLIT_WORDS.sub("\x00", text)
    for pos, char in enumerate(marked):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in ",;\x00":
            pieces.append(marked[start:pos])
            start = pos + 1
    pieces.append(marked[start:])
    pieces = [p.strip() for p in pieces if p.strip()]
    expanded = []
    for piece in pieces:
        expanded.extend(_expand_pm(piece))
    return expanded


def _expand_pm(piece: str) -> list[str]:
    """One ``\\pm`` (or ``\\mp``) anywhere gives two answers: ``\\frac{1\\pm\\sqrt5}{2}`` is two
    roots."""
    signs = [(m, s) for m, s in (("\\pm", "+-"), ("\\mp", "-+")) if m in piece]
    if len(signs) != 1 or piece.count(signs[0][0]) != 1:
        return [piece]
    mark, (first, second) = signs[0]
    before, after = piece.split(mark)
    return [f"{before}{first}{after.strip()}", f"{before}{second}{after.strip()}"]


def _depth_at(text: str, index: int) -> int:
    prefix = text[:index]
    return sum(prefix.count(c) for c in "([{") - sum(prefix.count(c) for c in ")]}")


def _single(raw: str, text: str, max_digits: int, version: int = 1) -> Answer:
    text = (
        text.replace(" ", "") if re.fullmatch(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?", text) else text
    )
    if version >= 2 and (ratio := _RATIO.match(text)) is not None:
        sides = parse_number(ratio.group(1), max_digits), parse_number(ratio.group(2), max_digits)
        if None not in sides:
            return Answer(
                raw,
                text,
                "ratio",
                parts=tuple(
                    Answer(s, s, "number", v[0], v[1]) for s, v in zip(ratio.groups(), sides)
                ),
            )
    choice = _CHOICE.match(text)
    if choice and (choice.group("letter").isupper() or text.startswith("(")):
        return Answer(raw, choice.group("letter").upper(), "choice")
    plain = _INNER_TEXT.sub(lambda m: m.group(1), text).strip()
    if _is_text(plain, wrapped=plain != text or raw.strip().startswith("\\text")):
        return Answer(raw, " ".join(plain.lower().split()), "text")
    number = _number_answer(raw, text, max_digits, _PERCENT_V2 if version >= 2 else _PERCENT)
    return number if number is not None else Answer(raw, text, "math")


def _is_text(plain: str, wrapped: bool) -> bool:
    if not _TEXT.match(plain):
        return False
    words = [w for w in re.split(r"[\s\-']+", plain.lower()) if w]
    if any(w in _MATH_WORDS for w in words):
        return False
    if len(words) == 1 and words[0] in _TEXT_WORDS:
        return True
    return any(len(w) >= 3 for w in words) and (wrapped or len(words) > 1 or len(words[0]) >= 3)


def _number_answer(
    raw: str, text: str, max_digits: int, percent_re: re.Pattern = _PERCENT
) -> Answer | None:
    lhs, full = None, text
    assign = _ASSIGN.match(text)
    if assign:
        lhs, text = assign.group("lhs"), assign.group("rhs").strip()
    percent = bool(percent_re.search(text))
    body = percent_re.sub("", text)
    body = _CURRENCY.sub("", body)
    body = _DEGREES.sub("", body).strip()
    if QUALIFIER_RE.search(body):
        return None  # "5 or more", "5 squared": not the plain number 5
    body, scale = _scaled(body)
    unit = _UNIT_TAIL.match(body)
    if unit:
        body = unit.group("num").strip()
    body = re.sub(r"(?<!\d)\s+|\s+(?!\d)", "", body)  # "- 7" -> "-7", but "3 4" stays apart
    body = re.sub(r"^\{(.*)\}$", r"\1", body)
    parsed = parse_number(body, max_digits)
    if parsed is None:
        return None
    value, inexact = parsed
    return Answer(raw, full, "number", value * scale, inexact, percent, lhs)


def _scaled(body: str) -> tuple[str, int]:
    """``5 \\text{ million}`` -> ("5", 10**6); other text is returned unchanged with scale 1."""
    match = _SCALE.match(body)
    if match is None:
        return body, 1
    trail = match.group("trail") or ""
    rest = ("\\text{" + trail + "}" if trail.strip() else "") + match.group("rest")
    word = match.group("word") or match.group("word2")
    return match.group("num") + rest, _SCALE_WORDS[word.lower()]


def parse_number(text: str, max_digits: int = 20_000) -> tuple[Fraction, bool] | None:
    """Exact value of a plain number, and whether it was written as a decimal; else ``None``.

    >>> parse_number("-2.5\\\\times10^{3}")
    (Fraction(-2500, 1), True)
    >>> parse_number("\\\\frac{3}{-6}")
    (Fraction(-1, 2), False)
    """
    if len(text) > max_digits:
        return None
    for pattern in (_DECIMAL, _SCI, _POW10):
        match = pattern.match(text)
        if match:
            groups = match.groupdict()
            exp = int(groups.get("exp") or 0)
            if abs(exp) > max_digits:
                return None
            if (
                pattern is _DECIMAL
                and (groups.get("exp") or "").startswith("+")
                and "." not in groups["mant"]
            ):
                return None  # "2e+1" may be 2e + 1: not a plain number
            mant = Fraction(groups.get("mant") or "1")
            value = mant * Fraction(10) ** exp
            inexact = (
                "." in (groups.get("mant") or "")
                or pattern is _SCI
                or bool(groups.get("exp") and pattern is _DECIMAL)
            )
            return (-value if groups["sign"] == "-" else value), inexact
    special = _mixed_or_repeating(text)
    if special is not None:
        return special, False
    for pattern in (_FRAC, _SLASH):
        match = pattern.match(text)
        if match and int(match.group("den")) != 0:
            value = Fraction(int(match.group("num")), int(match.group("den")))
            return (-value if match.group("sign") == "-" else value), False
    return None


def _mixed_or_repeating(text: str) -> Fraction | None:
    """Mixed numbers (``2\\frac{1}{2}`` is 5/2, as in MATH golds) and repeating decimals
    (``0.\\overline{3}`` is 1/3), exactly; ``None`` for anything else."""
    mixed = _MIXED.match(text)
    if mixed and 0 < int(mixed.group("num")) < int(mixed.group("den")):
        value = int(mixed.group("whole")) + Fraction(
            int(mixed.group("num")), int(mixed.group("den"))
        )
        return -value if mixed.group("sign") == "-" else value
    rep = _REPEATING.match(text)
    if rep is None:
        return None
    head, fixed, cycle = rep.group("int") or "0", rep.group("fixed"), rep.group("rep")
    value = Fraction(int(head + fixed), 10 ** len(fixed))
    value += Fraction(int(cycle), (10 ** len(cycle) - 1) * 10 ** len(fixed))
    return -value if rep.group("sign") == "-" else value


def nesting_split(text: str) -> list[str]:
    """Split ``text`` at commas outside any brackets (``\\{`` and ``\\}`` count as brackets)."""
    pieces, depth, start = [], 0, 0
    for pos, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char == ",":
            pieces.append(text[start:pos].strip())
            start = pos + 1
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]
