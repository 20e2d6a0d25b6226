"""What the quarantine compares: a task's prompt side and answer side, normalised (see
:mod:`.normalise`).

A :class:`Fingerprint` holds, for one task:

- the **prompt side**: the user-visible text (system messages left out: they are shared
  boilerplate);
- the **answer side**: the final answer (math) or the test cases (code), and the reference solution
  when the task has one (for other kinds, such as JSON schemas or tool environments, the reference
  is checking material many tasks share, so only a solution counts);
- **structure** where the task kind allows it: a math statement's numbers and content words; a code
  task's function names (replaced by ``FN`` in its tests and solution, so a renamed function still
  matches), the literal values of its tests and their expected outputs.

>>> fp = fingerprint("t1", "What is 3 + 5?", {"answer": "8"})
>>> fp.kind, fp.answer, sorted(fp.numbers)
('math', '8', ['3', '5'])
>>> code_reference = {"tests": "assert add_one(2) == 3", "entry_point": "add_one"}
>>> fingerprint("c1", "Write add_one.", code_reference).answer
'assert FN ( 2 ) = = 3'
"""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .normalise import (
    canonical_json,
    canonical_number,
    content_words,
    normalise,
    normalise_answer,
    numbers_in,
)

CODE_KEYS = ("tests", "test_list", "test", "test_cases")
PLACEHOLDER = "FN"

_DEF = re.compile(r"\bdef\s+([A-Za-z_]\w*)")
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_LITERAL = re.compile(
    r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])"
)
_EXPECTED = re.compile(r"==\s*(.+?)\s*(?:,\s*(?:f?['\"].*)?)?$", re.MULTILINE)
_NOT_NAMES = frozenset(dir(builtins)) | {
    "assert",
    "check",
    "candidate",
    "isclose",
    "approx",
    "math",
    "np",
}


@dataclass(frozen=True)
class Fingerprint:
    """The comparable form of one task (see the module docstring)."""

    id: str
    kind: str
    """``math``, ``code`` or ``other``: which structural checks apply."""
    prompt: str
    """Normalised prompt text."""
    answer: str = ""
    """Normalised answer side: a math final answer, or a code task's tests (function names as
    ``FN``)."""
    solution: str = ""
    """Normalised reference solution ("" when the task has none)."""
    numbers: frozenset[str] = frozenset()
    """Numbers in a math statement, canonical (``2.50`` -> ``5/2``, ``forty-eight`` -> ``48``)."""
    words: frozenset[str] = frozenset()
    """Content words of a math statement (function words left out)."""
    solution_numbers: frozenset[str] = frozenset()
    """Numbers in a math task's reference solution."""
    names: frozenset[str] = frozenset()
    """Function names a code task defines or tests."""
    literals: frozenset[str] = frozenset()
    """Literal values in a code task's tests."""
    expected: frozenset[str] = frozenset()
    """Expected outputs in a code task's tests (what follows ``==``)."""


def fingerprint(task_id: Any, prompt: Any, reference: Any, solution: Any = None) -> Fingerprint:
    """Fingerprint one task from its prompt (text or chat messages), reference and optional
    solution."""
    reference = reference if isinstance(reference, Mapping) else {}
    text, solution = prompt_text(prompt), solution if isinstance(solution, str) else ""
    kind = task_kind(reference)
    if kind == "math":
        return Fingerprint(
            str(task_id),
            kind,
            normalise(text),
            normalise_answer(reference["answer"]),
            normalise(solution),
            numbers=numbers_in(text),
            words=content_words(text),
            solution_numbers=numbers_in(solution),
        )
    if kind == "code":
        return _code_fingerprint(str(task_id), text, reference, solution)
    return Fingerprint(str(task_id), kind, normalise(text), solution=normalise(solution))


def task_kind(reference: Mapping[str, Any]) -> str:
    """``math`` for a reference with a scalar ``answer``, ``code`` for one with tests, else
    ``other``."""
    answer = reference.get("answer")
    if (
        isinstance(answer, (str, int, float))
        and not isinstance(answer, bool)
        and str(answer).strip()
    ):
        return "math"
    if any(reference.get(key) for key in CODE_KEYS):
        return "code"
    return "other"


def prompt_text(prompt: Any) -> str:
    """The text of a prompt: a string as is, chat messages' non-system contents joined by
    newlines."""
    if isinstance(prompt, str):
        return prompt
    if not isinstance(prompt, (list, tuple)):
        return "" if prompt is None else str(prompt)
    parts = []
    for message in prompt:
        if isinstance(message, Mapping) and message.get("role") != "system":
            content = message.get("content")
            parts.append(
                content
                if isinstance(content, str)
                else json.dumps(content, sort_keys=True, default=str)
            )
    return "\n".join(parts)


def literals_in(code: str) -> frozenset[str]:
    """String and number literals of test code, quote style and number spelling folded.

    >>> sorted(literals_in("assert f('ab') == 2.50 and f('c') != -3 and test_tup1"))
    ['-3', '5/2', 's:ab', 's:c']
    """
    out = set()
    for literal in _LITERAL.findall(code):
        out.add(f"s:{literal[1:-1]}" if literal[0] in "'\"" else canonical_number(literal))
    return frozenset(out)


def expected_outputs(tests: str) -> frozenset[str]:
    """What each ``== ...`` in the tests expects, normalised (quote style folded).

    >>> sorted(expected_outputs("assert f(2) == 4\\nassert f('a') == 'b', 'message'"))
    ["' b '", '4']
    """
    return frozenset(
        normalise(m.replace('"', "'"), fold_case=False) for m in _EXPECTED.findall(tests)
    )


def _code_fingerprint(
    task_id: str, text: str, reference: Mapping[str, Any], solution: str
) -> Fingerprint:
    tests = code_tests(reference)
    names = _tested_names(reference, tests, solution)
    return Fingerprint(
        task_id,
        "code",
        normalise(text),
        _code_text(tests, names),
        _code_text(solution, names),
        names=names,
        literals=literals_in(tests),
        expected=expected_outputs(tests),
    )


def code_tests(reference: Mapping[str, Any]) -> str:
    """A code reference's tests as one text (a string, a list of asserts, or anything else as
    JSON)."""
    for key in CODE_KEYS:
        value = reference.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value:
            return "\n".join(map(str, value))
        if value:
            return canonical_json(value)
    return ""


def _tested_names(reference: Mapping[str, Any], tests: str, solution: str) -> frozenset[str]:
    """The task's own functions: the entry point, what the solution defines, what the tests call
    (minus builtins, ``check``/``candidate``, methods and helpers the tests define themselves)."""
    names = set(_DEF.findall(solution))
    entry = reference.get("entry_point")
    if isinstance(entry, str) and entry.isidentifier():
        names.add(entry)
    own = set(_DEF.findall(tests))
    names.update(n for n in _CALL.findall(tests) if n not in _NOT_NAMES and n not in own)
    return frozenset(names)


def _code_text(code: str, names: frozenset[str]) -> str:
    """Normalised code with the task's function names as ``FN`` and one quote style."""
    if names:
        code = re.sub(
            r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b", PLACEHOLDER, code
        )
    return normalise(code.replace('"', "'"), fold_case=False)
