"""Bounded JSON loading for model output: size, depth and number limits checked, never a crash.

Every way the text can be refused ends as :class:`Rejected` with a stable ``code``:

==========================  ===============================================================
``response_too_large``      more characters than ``max_response_chars``
``invalid_json``            not JSON (syntax error)
``non_finite_number``       ``NaN``, ``Infinity`` or ``-Infinity``: Python accepts them,
                            JSON does not
``number_too_large``        a number literal longer than ``max_number_chars`` characters
``number_out_of_range``     a float literal that overflows to infinity (``1e999``)
``too_deep``                arrays/objects nested deeper than ``max_depth``
==========================  ===============================================================

>>> load_json('{"a": [1, 2.5]}', max_response_chars=100, max_depth=4, max_number_chars=10)
{'a': [1, 2.5]}
>>> try:
...     load_json('NaN', max_response_chars=100, max_depth=4, max_number_chars=10)
... except Rejected as exc:
...     exc.code
'non_finite_number'
"""

from __future__ import annotations

import json
import math
from typing import Any


class Rejected(ValueError):
    """The text cannot be used as a JSON document; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def load_json(text: str, *, max_response_chars: int, max_depth: int, max_number_chars: int) -> Any:
    """Parse ``text`` as one JSON document within the given bounds, or raise :class:`Rejected`."""
    if len(text) > max_response_chars:
        raise Rejected(
            "response_too_large",
            f"{len(text)} characters is more than the limit of {max_response_chars}",
        )
    try:
        value = json.loads(
            text,
            parse_constant=_no_constant,
            parse_int=lambda s: _parse_int(s, max_number_chars),
            parse_float=lambda s: _parse_float(s, max_number_chars),
        )
    except RecursionError:
        raise Rejected("too_deep", f"JSON nests deeper than the limit of {max_depth}") from None
    except Rejected:
        raise
    except ValueError as exc:
        raise Rejected("invalid_json", f"not valid JSON: {str(exc)[:200]}") from None
    depth = nesting_depth(value)
    if depth > max_depth:
        raise Rejected("too_deep", f"JSON nests {depth} levels deep; the limit is {max_depth}")
    return value


def nesting_depth(value: Any) -> int:
    """Container depth without recursion: a scalar is 0, ``[]`` is 1, ``[{"a": 1}]`` is 2."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _no_constant(name: str) -> Any:
    raise Rejected(
        "non_finite_number", f"{name} is not a JSON number (JSON has no NaN or Infinity)"
    )


def _parse_int(literal: str, limit: int) -> int:
    if len(literal) > limit:
        raise Rejected(
            "number_too_large",
            f"an integer literal has {len(literal)} characters; the limit is {limit}",
        )
    return int(literal)


def _parse_float(literal: str, limit: int) -> float:
    if len(literal) > limit:
        raise Rejected(
            "number_too_large",
            f"a number literal has {len(literal)} characters; the limit is {limit}",
        )
    value = float(literal)
    if math.isinf(value):
        raise Rejected("number_out_of_range", f"{literal[:40]} overflows a double-precision float")
    return value
