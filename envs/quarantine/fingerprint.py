"""What the quarantine compares: a task's prompt side and answer side, normalised and shingled.

A :class:`Fingerprint` holds, for one task:

- the **prompt side**: the user-visible text (system messages left out: they are shared boilerplate),
  normalised (Unicode NFKC, case-folded, whitespace collapsed) and cut into word 3-gram shingles;
- the **answer side**: the reference answer (math) or the test cases (code), and the reference solution
  when the task has one (for other kinds, such as JSON schemas or tool environments, the reference is
  checking material many tasks share, so only a solution counts);
- **structure** where the task kind allows it: the numbers in a math statement, the function names and
  the literal values of a code task's tests.

>>> fp = fingerprint("t1", "What is 3 + 5?", {"answer": "8"})
>>> fp.kind, fp.answer, sorted(fp.numbers)
('math', '8', ['3', '5'])
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

#: Word n-gram size of the shingles MinHash works on.
SHINGLE_WORDS = 3

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:/\d+)?")
_CODE_KEYS = ("tests", "test_list", "test", "test_cases", "entry_point")
_DEF = re.compile(r"\bdef\s+([A-Za-z_]\w*)")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+(?:\.\d+)?")
_NOT_NAMES = frozenset({"assert", "print", "len", "abs", "set", "list", "dict", "tuple", "sorted", "int", "str",
                        "float", "round", "range", "isclose", "math", "all", "any", "sum", "min", "max", "bool"})
_STOP_WORDS = frozenset("""the and are was were has have had what which who whom whose when where why how
is it its this that these those than then there their they them you your our for from with without into onto
upon about above below over under after before not but all any each both few more most other some such only own
same very can will just should would could may might must shall does did doing done being been also per put
answer final boxed give find compute calculate write let""".split())
_LATEX_NOISE = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ |\$|\\displaystyle")


@dataclass(frozen=True)
class Fingerprint:
    """The comparable form of one task (see the module docstring)."""

    id: str
    kind: str
    """``math``, ``code`` or ``other``: which structural checks apply."""
    prompt: str
    """Normalised prompt text."""
    answer: str
    """Normalised answer side: a math answer, a code task's tests, or the canonical reference JSON."""
    solution: str = ""
    """Normalised reference solution ("" when the task has none)."""
    numbers: frozenset[str] = frozenset()
    """Numbers in a math statement, canonical (``2.50`` -> ``2.5``)."""
    words: frozenset[str] = frozenset()
    """Content words of a math statement (function words left out)."""
    solution_numbers: frozenset[str] = frozenset()
    """Numbers in a math task's reference solution."""
    names: frozenset[str] = frozenset()
    """Function names a code task defines or tests."""
    literals: frozenset[str] = frozenset()
    """Literal values in a code task's tests."""


def fingerprint(task_id: str, prompt: Any, reference: Mapping[str, Any], solution: str | None = None) -> Fingerprint:
    """Fingerprint one task from its prompt (text or chat messages), reference and optional solution."""
    text = prompt_text(prompt)
    kind = task_kind(reference)
    if kind == "math":
        answer = normalise_answer(str(reference["answer"]))
        return Fingerprint(str(task_id), kind, normalise(text), answer, normalise(solution or ""),
                           numbers=numbers_in(text), words=content_words(text),
                           solution_numbers=numbers_in(solution or ""))
    if kind == "code":
        tests = _code_tests(reference)
        names = _code_names(reference, tests, solution or "")
        return Fingerprint(str(task_id), kind, normalise(text), normalise(tests.replace('"', "'")),
                           normalise((solution or "").replace('"', "'")), names=names, literals=literals_in(tests))
    return Fingerprint(str(task_id), kind, normalise(text), normalise(canonical_json(reference)),
                       normalise(solution or ""))


def task_kind(reference: Mapping[str, Any]) -> str:
    """``math`` for a reference with a scalar ``answer``, ``code`` for one with tests, else ``other``."""
    if isinstance(reference.get("answer"), (str, int, float)) and not isinstance(reference.get("answer"), bool):
        return "math"
    if any(key in reference for key in _CODE_KEYS):
        return "code"
    return "other"


def prompt_text(prompt: Any) -> str:
    """The text of a prompt: a string as is, chat messages' non-system contents joined by newlines."""
    if isinstance(prompt, str):
        return prompt
    parts = []
    for message in prompt or ():
        if isinstance(message, Mapping) and message.get("role") != "system":
            content = message.get("content")
            parts.append(content if isinstance(content, str) else json.dumps(content, sort_keys=True, default=str))
    return "\n".join(parts)


def normalise(text: str) -> str:
    """NFKC, case-folded, one space between tokens (words and single punctuation marks).

    >>> normalise("What  is 3+5 ?")
    'what is 3 + 5 ?'
    """
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()))


def shingles(normalised: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Word ``size``-grams of a normalised text (the whole text when it has fewer words).

    >>> sorted(shingles("a b c d"))
    ['a b c', 'b c d']
    """
    words = normalised.split(" ") if normalised else []
    if len(words) <= size:
        return {normalised} if normalised else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def normalise_answer(answer: str) -> str:
    """A math answer without LaTeX spacing, ``$``, ``\\boxed{}``, spaces and trailing zeros.

    >>> normalise_answer(r"$\\boxed{12.50}$"), normalise_answer(" x = 3 ")
    ('12.5', 'x=3')
    """
    text = _LATEX_NOISE.sub("", unicodedata.normalize("NFKC", answer)).strip()
    if text.startswith("\\boxed{") and text.endswith("}"):
        text = text[len("\\boxed{"):-1]
    text = re.sub(r"\s+", "", text).casefold().rstrip(".")
    return canonical_number(text) if _NUMBER.fullmatch(text) else text


def canonical_number(text: str) -> str:
    """``2.50`` -> ``2.5``, ``1,000`` -> ``1000``, ``-0`` -> ``0``; fractions and other text unchanged."""
    if "/" in text:
        return text
    plain = text.replace(",", "")
    try:
        value = float(plain)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def numbers_in(text: str) -> frozenset[str]:
    """The numbers written in ``text``, canonical and unsigned (``20-3`` and ``20 - 3`` read alike).

    >>> sorted(numbers_in("Buy 3 apples at $2.50 each, 1,000 times."))
    ['1000', '2.5', '3']
    """
    found = _NUMBER.findall(unicodedata.normalize("NFKC", text))
    return frozenset(canonical_number(n.lstrip("-").rstrip(".,")) for n in found)


def literals_in(code: str) -> frozenset[str]:
    """String and number literals of test code, quote style and number spelling folded.

    >>> sorted(literals_in("assert f('ab') == 2.50 and f('c') != -3"))
    ['-3', '2.5', 's:ab', 's:c']
    """
    out = set()
    for literal in _LITERAL.findall(code):
        out.add(f"s:{literal[1:-1]}" if literal[0] in "'\"" else canonical_number(literal))
    return frozenset(out)


def content_words(text: str) -> frozenset[str]:
    """Words of three letters or more that are not function words, case-folded.

    >>> sorted(content_words("What is the sum of the two numbers?"))
    ['numbers', 'sum', 'two']
    """
    words = re.findall(r"[^\W\d_]{3,}", unicodedata.normalize("NFKC", text).casefold())
    return frozenset(w for w in words if w not in _STOP_WORDS)


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON (anything not JSON becomes its string form)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _code_tests(reference: Mapping[str, Any]) -> str:
    for key in ("tests", "test_list", "test", "test_cases"):
        value = reference.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value:
            return "\n".join(map(str, value))
        if value:
            return canonical_json(value)
    return ""


def _code_names(reference: Mapping[str, Any], tests: str, solution: str) -> frozenset[str]:
    names = set(_DEF.findall(solution))
    entry = reference.get("entry_point")
    if isinstance(entry, str) and entry:
        names.add(entry)
    names.update(n for n in _CALL.findall(tests) if n not in _NOT_NAMES and n != "candidate")
    return frozenset(names)
