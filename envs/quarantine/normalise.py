"""Text normalisation for the quarantine: tokens, shingles, numbers and final answers in canonical
form.

>>> normalise("What  is 3+5 ?")
'what is 3 + 5 ?'
>>> sorted(numbers_in("Forty-eight clips at $2.50, then 1,000 more; {1,2,3}"))
['1', '1000', '2', '3', '48', '5/2']
>>> answers = (r"$\\boxed{12.50}$", r"\\dfrac{5}{10}", ".5", "x = 3", "72 clips")
>>> [normalise_answer(a) for a in answers]
['25/2', '1/2', '1/2', '3', '72']
"""

from __future__ import annotations

import json
import re
import unicodedata
from fractions import Fraction
from typing import Any

#: Word n-gram size of the shingles MinHash works on.
SHINGLE_WORDS = 3

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# a number: thousands groups of exactly three digits ("1,000", not "1,2,3"), a decimal part, a
# fraction
_NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:/\d+)?(?![\w])")
_FRAC = re.compile(r"\\[dt]?frac\s*(?:\{([^{}]*)\}|(\d))\s*(?:\{([^{}]*)\}|(\d))")
_LATEX_NOISE = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\ |\$|\\displaystyle|\^\\circ")
_LATEX_TEXT = re.compile(r"\\(?:text|mbox|mathrm|textbf)\{([^{}]*)\}")
_UNITS = re.compile(r"^([-+]?[\d.,/]+)\s+[^\W\d_][\w\s.]*$")
_VARIABLE = re.compile(r"^[a-z]\s*=\s*(?=\S)")
_UNITS_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD = re.compile(
    r"\b("
    + "|".join(_TENS_WORDS)
    + r")(?:[- ]("
    + "|".join(_UNITS_WORDS[1:10])
    + r"))?\b|\b("
    + "|".join(_UNITS_WORDS[2:])
    + r")\b",
    re.IGNORECASE,
)
_STOP_WORDS = frozenset(
    """the and are was were has have had what which who whom whose when where why how
is it its this that these those than then there their they them you your our for from with
without into onto upon about above below over under after before not but all any each both few
more most other some such only own same very can will just should would could may might must
shall does did doing done being been also per put answer final boxed give find compute calculate
write let""".split()
)


def normalise(text: str, *, fold_case: bool = True) -> str:
    """NFKC, case-folded, number words as digits, one space between tokens (words and punctuation
    marks).

    Code keeps its case (``fold_case=False``): ``[a-z]`` and ``[A-Z]`` are different programs.
    """
    text = unicodedata.normalize("NFKC", text)
    return " ".join(_TOKEN.findall(digits_for_words(text).casefold() if fold_case else text))


def shingles(normalised: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Word ``size``-grams of a normalised text (the whole text when it has fewer words).

    >>> sorted(shingles("a b c d"))
    ['a b c', 'b c d']
    """
    words = normalised.split(" ") if normalised else []
    if len(words) <= size:
        return {normalised} if normalised else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def digits_for_words(text: str) -> str:
    """``forty-eight`` -> ``48``, ``seven`` -> ``7`` (two to ninety-nine; "one" is too often a
    pronoun).

    >>> digits_for_words("She sold forty-eight clips and seven pens to one friend.")
    'She sold 48 clips and 7 pens to one friend.'
    """

    def value(match: re.Match[str]) -> str:
        tens, unit, single = match.group(1), match.group(2), match.group(3)
        if single:
            return str(_UNITS_WORDS.index(single.casefold()))
        return str(
            10 * (_TENS_WORDS.index(tens.casefold()) + 2)
            + (_UNITS_WORDS.index(unit.casefold()) if unit else 0)
        )

    return _NUMBER_WORD.sub(value, text)


def numbers_in(text: str) -> frozenset[str]:
    """The numbers written in ``text`` (digits, number words, ``\\frac{a}{b}``), canonical and
    unsigned."""
    text = _FRAC.sub(
        lambda m: f"{m.group(1) or m.group(2)}/{m.group(3) or m.group(4)}",
        digits_for_words(unicodedata.normalize("NFKC", text)),
    )
    return frozenset(
        canonical_number(n) for n in _NUMBER.findall(text) if any(c.isdigit() for c in n)
    )


def normalise_answer(answer: Any) -> str:
    """A final answer in canonical form: numbers as reduced fractions or integers (``12.50`` ->
    ``25/2``, ``\\frac56`` -> ``5/6``), without LaTeX spacing, ``$``, ``\\boxed{}``, a leading
    ``x =`` or trailing unit words."""
    text = _LATEX_NOISE.sub(
        "", _LATEX_TEXT.sub(r" \1", unicodedata.normalize("NFKC", str(answer)))
    ).strip()
    if text.startswith("\\boxed{") and text.endswith("}"):
        text = text[len("\\boxed{") : -1]
    text = _FRAC.sub(lambda m: f"{m.group(1) or m.group(2)}/{m.group(3) or m.group(4)}", text)
    text = _VARIABLE.sub("", text.strip().casefold()).rstrip(".").strip()
    text = _UNITS.sub(r"\1", text)
    text = re.sub(r"\s+", "", text)
    return canonical_number(text)


def canonical_number(text: str) -> str:
    """A number as an integer or reduced fraction (``2.50`` -> ``5/2``, ``1,000`` -> ``1000``);
    other text as is."""
    plain = text.replace(",", "").lstrip("+")
    try:
        value = Fraction(plain)
    except (ValueError, ZeroDivisionError):
        return text
    return str(abs(value)) if plain.startswith("-") and value == 0 else str(value)


def answer_value(normalised: str) -> Fraction | None:
    """The value of a normalised numeric answer (``None`` for a symbolic one)."""
    try:
        return Fraction(normalised)
    except (ValueError, ZeroDivisionError):
        return None


def content_words(text: str) -> frozenset[str]:
    """Words of three letters or more that are not function words, case-folded.

    >>> sorted(content_words("What is the sum of the two numbers?"))
    ['numbers', 'sum']
    """
    words = re.findall(
        r"[^\W\d_]{3,}", digits_for_words(unicodedata.normalize("NFKC", text)).casefold()
    )
    return frozenset(w for w in words if w not in _STOP_WORDS)


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON (anything not JSON becomes its string form)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
