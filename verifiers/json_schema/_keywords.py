"""Keyword implementations that stay bounded on hostile instances.

``jsonschema`` matches ``pattern`` / ``patternProperties`` with :mod:`re`, which cannot be
interrupted: one catastrophic-backtracking pattern hangs the grader. Here patterns are matched
with the :mod:`regex` module (``re``-compatible syntax) under a time budget shared by every match
in one check; running out raises :class:`RegexBudgetExceeded`, which the verifier turns into a
``timeout`` verdict. ``uniqueItems`` falls back to a quadratic scan in ``jsonschema`` for arrays
of objects; here it hashes a canonical form of each item, which is linear. ``multipleOf`` is
decided exactly on the decimal numbers as written (``0.3`` is a multiple of ``0.1``; a huge
integer against a fractional divisor cannot overflow).

>>> with regex_budget(1.0):
...     search(r"^a+$", "aaa")
True
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
import warnings
from contextvars import ContextVar
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterator

import regex
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError

_DEADLINE: ContextVar[float | None] = ContextVar("rlvr_json_schema_regex_deadline", default=None)
_SHOWN_CHARS = 80


class RegexBudgetExceeded(Exception):
    """Pattern matching in one check used up its time budget."""

    def __init__(self, pattern: str) -> None:
        super().__init__(
            f"matching pattern {pattern[:100]!r} did not finish within the regex time budget"
        )
        self.pattern = pattern


class BadPattern(Exception):
    """A ``pattern`` in the schema does not compile: the reference is wrong."""


@contextlib.contextmanager
def regex_budget(seconds: float) -> Iterator[None]:
    """Every :func:`search` inside this block shares ``seconds`` of matching time."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def search(pattern: str, text: str) -> bool:
    """``regex.search`` bounded by the current budget (1 s when called outside any budget)."""
    compiled = _compile(pattern)
    deadline = _DEADLINE.get()
    remaining = 1.0 if deadline is None else deadline - time.monotonic()
    if remaining <= 0:
        raise RegexBudgetExceeded(pattern)
    try:
        return compiled.search(text, timeout=remaining) is not None
    except TimeoutError:
        raise RegexBudgetExceeded(pattern) from None


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> Any:
    try:
        return regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise BadPattern(f"pattern {pattern[:100]!r} does not compile: {exc}") from None


def shorten(value: Any) -> str:
    """``repr`` of an instance, cut so messages stay small on megabyte inputs."""
    if isinstance(value, (dict, list)) and len(value) > 20:
        return f"<{type(value).__name__} of {len(value)} items>"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...'"


def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(patrn, instance):
        yield ValidationError(f"{shorten(instance)} does not match {patrn!r}")


def pattern_properties(
    validator: Any, pattern_map: dict, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in pattern_map.items():
        for key, value in instance.items():
            if search(patrn, key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def unique_items(
    validator: Any, unique: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set = set()
    for item in instance:
        key = canonical(item)
        if key in seen:
            yield ValidationError(f"{shorten(instance)} has non-unique elements")
            return
        seen.add(key)


def multiple_of(
    validator: Any, divisor: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if (
        not validator.is_type(instance, "number")
        or not validator.is_type(divisor, "number")
        or divisor == 0
    ):
        return
    if (_exact(instance) / _exact(divisor)).denominator != 1:
        yield ValidationError(f"{shorten(instance)} is not a multiple of {divisor!r}")


def _exact(number: int | float) -> Fraction:
    """The decimal value a JSON number literal denotes (floats via their shortest repr)."""
    return Fraction(number) if isinstance(number, int) else Fraction(Decimal(repr(number)))


def canonical(value: Any) -> Any:
    """A hashable form under which two JSON values are equal exactly when JSON Schema says so.

    ``1`` and ``1.0`` are equal, ``true`` and ``1`` are not, object key order does not matter.

    >>> canonical({"a": [1, True]}) == canonical({"a": [1.0, True]})
    True
    >>> canonical(True) == canonical(1)
    False
    """
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, float) and value.is_integer():
        return ("n", int(value))
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, canonical(v)) for k, v in value.items()))
    return ("z", repr(value))  # None and anything else


def format_checker(
    dialect_checker: FormatChecker, *, same_engine_as_pattern: bool = False
) -> FormatChecker:
    """``dialect_checker`` with a ``regex`` format that cannot crash on hostile strings.

    ``jsonschema`` checks ``format: regex`` with ``re.compile``, which raises ``RecursionError``
    on a string of 50,000 ``(``; here that string is simply not a regex. With
    ``same_engine_as_pattern`` a string is a regex when the :mod:`regex` module (the engine
    that matches ``pattern``) compiles it, so ``\\p{Letter}`` is one.

    >>> checker = format_checker(FormatChecker(), same_engine_as_pattern=True)
    >>> checker.conforms(r"^\\p{Letter}+$", "regex"), checker.conforms("(" * 50_000, "regex")
    (True, False)
    """
    checker = FormatChecker(formats=())
    checker.checkers = dict(dialect_checker.checkers)
    if "regex" in checker.checkers:
        if same_engine_as_pattern:
            checker.checkers["regex"] = (
                _is_pattern,
                (regex.error, RecursionError, OverflowError, MemoryError),
            )
        else:
            checker.checkers["regex"] = (
                _is_regex,
                (re.error, RecursionError, OverflowError, MemoryError),
            )
    return checker


def _is_regex(instance: Any) -> bool:
    if not isinstance(instance, str):
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings from re
        re.compile(instance)
    return True


def _is_pattern(instance: Any) -> bool:
    if isinstance(instance, str):
        # strings from model output: keep them out of regex's cache
        regex.compile(instance, cache_pattern=False)
    return True


def ignored(validator: Any, value: Any, instance: Any, schema: Any) -> None:
    """A keyword switched off (its vocabulary is not in the schema's metaschema): never an error."""
    return None


BOUNDED_KEYWORDS = {
    "pattern": pattern,
    "patternProperties": pattern_properties,
    "uniqueItems": unique_items,
    "multipleOf": multiple_of,
}
