"""The ``tool_call@2`` verifier; see :class:`ToolCallVerifierV2`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifiers.registry import register

from .verifier import Rules, ToolCallVerifier


@register
class ToolCallVerifierV2(ToolCallVerifier):
    """Parse tool calls, validate them against the tools' schemas, compare them with the expected
    calls, run them against a mock API and check the end state and the final answer.

    Reference: as ``tool_call@1`` (``tools``, ``expected_calls``, ``allow_extra_calls``,
    ``environment``, ``expected_state``, ``answer_contains``; see
    :class:`~verifiers.tool_call.ToolCallVerifier`), read with three differences:

    * **"No call is expected" is** ``"expected_calls": []``: the key given, the list empty. Then a
      completion without a tool call (plain text, an empty string, or an OpenAI message whose
      ``tool_calls`` is empty) passes, subject to ``answer_contains`` and ``expected_state`` when
      given; any tool call fails: ``wrong_calls`` ("no call is expected ..."), or ``unknown_tool``
      / ``invalid_arguments`` when the call is also malformed. A reference without
      ``expected_calls`` (the key absent or ``null``) never means "no call": without an
      ``environment`` it is a bad reference (the message names ``[]``), with one it needs at
      least one call, as in @1. ``"allow_extra_calls": true`` next to ``[]`` makes every call
      optional (none, or any that is valid and leaves the expected state).
    * **Arguments must be declared.** An argument that the tool's ``parameters`` schema does not
      declare (under ``properties`` or ``required``, also in combined subschemas, or matching
      ``patternProperties``) is ``invalid_arguments``, naming it, unless the schema explicitly
      allows more (``additionalProperties`` or ``unevaluatedProperties`` present and not
      ``false``). Only top-level arguments: nested objects follow their schemas as written.
      An expected call that names a tool not among the tools, or that needs an undeclared
      argument (in ``arguments``, or in ``allowed`` without ``null``), can never be matched: the
      reference is bad (``error``, ``bad_reference``).
    * **``null`` among an argument's allowed values means "may be left out or sent as null".**
      The call is still validated against the schema first, so a ``null`` passes only where the
      schema accepts it (``"type": ["number", "null"]``, as OpenAI's strict mode writes optional
      parameters). ``"arguments": {"x": null}`` still requires ``x`` sent as ``null``, and an
      argument listed nowhere must still be left out.

    >>> import verifiers
    >>> v = verifiers.get("tool_call@2")
    >>> tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    ...     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    >>> no_call = {"tools": tools, "expected_calls": []}
    >>> v.verify("I can't book flights with a weather tool.", no_call).status.value
    'pass'
    >>> call = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
    >>> v.verify(call, no_call).failure_reason.code
    'wrong_calls'
    >>> expected = {"name": "get_weather", "arguments": {"city": "Oslo"},
    ...             "allowed": {"units": ["C", None]}}
    >>> ref = {"tools": tools, "expected_calls": [expected]}
    >>> invented = '{"name": "get_weather", "arguments": {"city": "Oslo", "units": "C"}}'
    >>> verifiers.get("tool_call@1").verify(invented, ref).status.value
    'pass'
    >>> print(v.verify(invented, ref).failure_reason.message)  # doctest: +NORMALIZE_WHITESPACE
    call 0: get_weather arguments at units: 'units' is not an argument of get_weather
    (it declares: city)

    Conformance with BFCL v4 is pinned by ``tests/conformance/test_bfcl_suite.py``; see
    ``verifiers/tool_call/CONFORMANCE.md``.

    Versions: 1 - first version. 2 - ``"expected_calls": []`` means "no call is expected" (a
    completion without calls passes, any call fails); @1 made every completion without a call
    ``unparseable`` (``no_tool_call``), so the right answer to a request that no tool fits could
    never pass (BFCL's 240 irrelevance questions). Arguments the tool does not declare are
    ``invalid_arguments`` unless its schema allows more; @1 accepted them where the schema said
    nothing (JSON Schema's default), so a model that invents parameters could pass, which BFCL's
    checker refuses (parallel_multiple_26); references that need such an argument are bad
    references. ``null`` among allowed values also matches an argument sent as ``null``; in @1
    it only meant "may be left out", so an optional argument sent as ``null`` (BFCL's
    parallel_152 lists ``null``; OpenAI strict mode sends it) could never match.
    """

    version = 2
    description = (
        "tool calls (OpenAI, <tool_call>, bare JSON) checked against schemas (declared arguments "
        "only), expected calls (or none) and a mock API end state"
    )
    rules = Rules(no_call_reference=True, declared_arguments_only=True, sent_null_matches=True)

    @staticmethod
    def probe_exempt(reference: Any) -> str:
        """Why :func:`verifiers.check_verifier`'s probes do not apply to ``reference`` ("" when they
        do)."""
        if (
            isinstance(reference, Mapping)
            and reference.get("expected_calls") == []
            and not reference.get("answer_contains")
            and not reference.get("expected_state")
        ):
            return (
                "'expected_calls': [] with no answer_contains or expected_state: any response "
                "without a tool call is correct, so content-free responses rightly pass"
            )
        return ""
