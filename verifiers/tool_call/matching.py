"""Comparing calls and states: expected calls (order-free, per-argument allowed values) and end
states.

Values compare as JSON data: numbers by value (``30 == 30.0``), booleans only with booleans,
strings exactly after stripping surrounding whitespace.

>>> values_equal(30, 30.0), values_equal(True, 1), values_equal(" a ", "a")
(True, False, True)
>>> state_mismatch({"events": [{"title": "A"}]}, {"events": [{"title": "A", "id": "e1"}]}) is None
True
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from verifiers.errors import BadReferenceError

from .parse import ToolCall

_MISSING = object()


def values_equal(expected: Any, actual: Any) -> bool:
    """JSON-value equality: numbers by value, bools apart from numbers, strings stripped."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip() == actual.strip()
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(
            values_equal(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(values_equal, expected, actual))
    return expected is None and actual is None


def call_matches(
    expected: Mapping[str, Any], call: ToolCall, *, sent_null_matches: bool = False
) -> bool:
    """Does ``call`` satisfy one expected call (name, arguments, per-argument allowed values)?

    ``expected = {"name": ..., "arguments": {arg: value}, "allowed": {arg: [values]}}``; an argument
    in ``allowed`` may take any listed value, and may be left out when ``null`` is listed. With
    ``sent_null_matches`` (``tool_call@2``) a listed ``null`` also matches the argument sent as
    ``null``.

    >>> expected = {"name": "f", "allowed": {"mod": [None, 7]}}
    >>> sent_null = ToolCall("f", {"mod": None})
    >>> call_matches(expected, sent_null), call_matches(expected, sent_null, sent_null_matches=True)
    (False, True)
    """
    if call.name != expected["name"]:
        return False
    arguments = expected.get("arguments") or {}
    allowed = expected.get("allowed") or {}
    for key in set(call.arguments) - set(arguments) - set(allowed):
        return False
    for key, options in allowed.items():
        value = call.arguments.get(key, _MISSING)
        if value is _MISSING or (value is None and sent_null_matches):
            if not any(option is None for option in options):
                return False
        elif not any(values_equal(option, value) for option in options if option is not None):
            return False
    return all(
        key in call.arguments and values_equal(value, call.arguments[key])
        for key, value in arguments.items()
        if key not in allowed
    )


def match_calls(
    expected: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    *,
    sent_null_matches: bool = False,
) -> dict[int, int]:
    """Order-free maximum matching ``{expected index: call index}`` (augmenting paths; lists are
    small)."""
    candidates = [
        [
            j
            for j, call in enumerate(calls)
            if call_matches(exp, call, sent_null_matches=sent_null_matches)
        ]
        for exp in expected
    ]
    owner: dict[int, int] = {}

    def assign(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or assign(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        assign(i, set())
    return {i: j for j, i in owner.items()}


def validate_expected_calls(expected: Any) -> list[Mapping[str, Any]]:
    """Check the shape of ``reference["expected_calls"]``; raises :class:`BadReferenceError`."""
    if not isinstance(expected, list):
        raise BadReferenceError(
            "expected_calls must be a list of {name, arguments, allowed?} objects"
        )
    for index, item in enumerate(expected):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise BadReferenceError(f"expected_calls[{index}] needs a string 'name'")
        if not isinstance(item.get("arguments", {}), Mapping) or not isinstance(
            item.get("allowed", {}), Mapping
        ):
            raise BadReferenceError(
                f"expected_calls[{index}]: 'arguments' and 'allowed' must be objects"
            )
        if any(not isinstance(v, list) for v in (item.get("allowed") or {}).values()):
            raise BadReferenceError(
                f"expected_calls[{index}].allowed maps each argument to a list of values"
            )
    return expected


def state_mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """``None`` when ``actual`` contains ``expected``, else the path of the first difference.

    Objects match when every expected key matches (extra actual keys are ignored); lists match
    when they have the same length and each expected item matches a distinct actual item.
    """
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing"
            found = state_mismatch(value, actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            got = len(actual) if isinstance(actual, list) else type(actual).__name__
            return f"{path}: expected {len(expected)} items, got {got}"
        return _list_mismatch(expected, actual, path)
    return (
        None if values_equal(expected, actual) else f"{path}: expected {expected!r}, got {actual!r}"
    )


def _list_mismatch(expected: list, actual: list, path: str) -> str | None:
    free = list(range(len(actual)))
    for index, item in enumerate(expected):
        hit = next((j for j in free if state_mismatch(item, actual[j]) is None), None)
        if hit is None:
            return f"{path}[{index}]: no matching item"
        free.remove(hit)
    return None
