"""The ``tool_call`` verifier: parse calls, validate them against tool schemas, compare with the
expected calls, execute them against a mock API and check the end state.

Reference (a JSON object)::

    {
      "tools": [<OpenAI function definitions>],          # optional when "environment" is given
      "expected_calls": [{"name": "create_event",         # optional: order-free, one per call
                          "arguments": {"date": "2026-03-02"},
                          "allowed": {"start": ["10:00", "10:30"]}}],
      "allow_extra_calls": false,                          # calls beyond the expected ones
      "environment": {"api": "calendar", "state": {...}},  # optional: mock API to execute against
      "expected_state": {...},                             # optional: subset of the end state
      "answer_contains": ["18"]                            # optional: text the final answer holds
    }

Closed ``<think>...</think>`` reasoning blocks are removed before the calls are parsed (see
:func:`verifiers.tool_call.parse.parse_tool_calls`), so a call drafted while thinking does not
count. At least one of ``expected_calls`` and ``environment`` is required. With an environment,
every *required* call (each matched expected call; every call when there are no expected calls) must
return a 2xx status. Failure codes: ``malformed_json``, ``bad_call_shape``, ``no_tool_call``
(unparseable); ``unknown_tool``, ``invalid_arguments``, ``wrong_calls``, ``call_failed``,
``end_state_mismatch``, ``wrong_answer`` (fail).

>>> import json
>>> forecasts = {"Oslo": {"2026-01-05": {"high_c": -3}}}
>>> call = {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}
>>> ref = {"environment": {"api": "weather", "state": {"forecasts": forecasts}},
...        "expected_calls": [call]}
>>> ToolCallVerifier().verify(json.dumps(call), ref).status.value
'pass'

Versions: 1 - first version.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

from jsonschema.exceptions import best_match

from verifiers.base import BaseVerifier, Outcome
from verifiers.errors import BadReferenceError
from verifiers.hashing import canonical_json
from verifiers.registry import register

from .declared import declared_arguments
from .matching import match_calls, state_mismatch, validate_expected_calls
from .mock_apis import APIS, MockAPI, make_api
from .parse import ParsedMessage, ToolCall, ToolCallParseError, parse_tool_calls

_CALL_LIMIT = 64


@dataclass(frozen=True)
class Rules:
    """The grading rules that differ between versions of ``tool_call`` (one instance per
    version)."""

    no_call_reference: bool = False
    """``"expected_calls": []`` means "no call is expected": a completion without calls can pass."""
    declared_arguments_only: bool = False
    """An argument the tool's schema does not declare is ``invalid_arguments``, unless the schema
    explicitly allows more (see :mod:`verifiers.tool_call.declared`). A reference whose expected
    call needs one, or names a tool that is not among the tools, is a bad reference (no call could
    match)."""
    sent_null_matches: bool = False
    """``null`` among an argument's allowed values matches the argument sent as ``null`` as well as
    left out."""


def tool_schemas(reference: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{tool name: JSON schema of its parameters}`` for the task (its tools, else its API's)."""
    tools = reference.get("tools")
    if tools is None:
        environment = reference.get("environment")
        if not isinstance(environment, Mapping):
            raise BadReferenceError("reference needs 'tools' or an 'environment' {api, state}")
        if environment.get("api") not in APIS:
            raise BadReferenceError(
                f"unknown mock API {environment.get('api')!r}; available: {', '.join(sorted(APIS))}"
            )
        tools = APIS[environment["api"]].tool_definitions()
    if not isinstance(tools, list):
        raise BadReferenceError("'tools' must be a list of OpenAI function definitions")
    schemas = {}
    for index, tool in enumerate(tools):
        function = tool.get("function", tool) if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise BadReferenceError(f"tools[{index}] is not a function definition with a 'name'")
        schemas[function["name"]] = dict(function.get("parameters") or {"type": "object"})
    return schemas


def execute_calls(api: MockAPI, calls: Sequence[ToolCall]) -> list[tuple[int, Any]]:
    """Run ``calls`` in order against ``api``; one ``(status, payload)`` per call, never an
    exception."""
    return [api.call(call.name, call.arguments) for call in calls]


@register
class ToolCallVerifier(BaseVerifier):
    __doc__ = __doc__
    name = "tool_call"
    version = 1
    description = (
        "tool calls (OpenAI, <tool_call>, bare JSON) checked against schemas, expected calls "
        "and a mock API end state"
    )
    rules: ClassVar[Rules] = Rules()

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        expected, schemas = self._read_reference(reference)
        try:
            parsed = parse_tool_calls(response)
        except ToolCallParseError as exc:
            return Outcome.unparseable(exc.code, exc.message)
        if not parsed.calls and not (self.rules.no_call_reference and expected == []):
            return Outcome.unparseable("no_tool_call", "the completion contains no tool call")
        if len(parsed.calls) > _CALL_LIMIT:
            return Outcome.failed(
                "wrong_calls", f"{len(parsed.calls)} calls exceed the limit of {_CALL_LIMIT}"
            )
        details = {
            "format": parsed.format,
            "calls": [{"name": c.name, "arguments": c.arguments} for c in parsed.calls],
        }
        invalid = _schema_failure(
            parsed.calls, schemas, declared_only=self.rules.declared_arguments_only
        )
        if invalid is not None:
            return Outcome.failed(*invalid, **details)
        matched = None
        if expected is not None:
            matched = match_calls(
                expected, parsed.calls, sent_null_matches=self.rules.sent_null_matches
            )
            problem = _match_failure(
                expected,
                parsed.calls,
                matched,
                bool(reference.get("allow_extra_calls")),
                no_call_reference=self.rules.no_call_reference,
            )
            if problem:
                return Outcome.failed("wrong_calls", problem, **details)
        if reference.get("environment"):
            outcome = self._execute(reference, parsed, matched, details)
            if outcome is not None:
                return outcome
        return _answer_outcome(reference, parsed, details)

    def _read_reference(
        self, reference: Mapping[str, Any]
    ) -> tuple[list[Mapping[str, Any]] | None, dict[str, Any]]:
        """``(expected calls or None, {tool: parameters schema})``; raises
        :class:`BadReferenceError`."""
        expected = reference.get("expected_calls")
        if expected is None and not reference.get("environment"):
            hint = (
                ' (for "no call is expected", give "expected_calls": [])'
                if self.rules.no_call_reference
                else ""
            )
            raise BadReferenceError(
                f"reference needs 'expected_calls', an 'environment', or both{hint}"
            )
        if expected is not None:
            validate_expected_calls(expected)
        schemas = tool_schemas(reference)
        if expected and self.rules.declared_arguments_only:
            _check_expected_arguments_declared(expected, schemas)
        return expected, schemas

    def _execute(
        self,
        reference: Mapping[str, Any],
        parsed: ParsedMessage,
        matched: dict[int, int] | None,
        details: dict[str, Any],
    ) -> Outcome | None:
        environment = reference["environment"]
        if not isinstance(environment, Mapping):
            raise BadReferenceError("'environment' must be an object {api, state}")
        api = make_api(environment.get("api"), environment.get("state"))
        results = execute_calls(api, parsed.calls)
        details["statuses"] = [status for status, _ in results]
        required = sorted(matched.values()) if matched is not None else range(len(results))
        failed = [j for j in required if not 200 <= results[j][0] < 300]
        if failed:
            j = failed[0]
            return Outcome.failed(
                "call_failed",
                f"call {j} ({parsed.calls[j].name}) returned {results[j][0]}: {results[j][1]}",
                **details,
            )
        expected_state = reference.get("expected_state")
        if expected_state is not None:
            where = state_mismatch(expected_state, api.snapshot())
            if where is not None:
                return Outcome.failed(
                    "end_state_mismatch", f"end state differs at {where}", **details
                )
        return None


def _schema_failure(
    calls: Sequence[ToolCall], schemas: Mapping[str, Mapping[str, Any]], *, declared_only: bool
) -> tuple[str, str] | None:
    for index, call in enumerate(calls):
        problem = call_problem(call, schemas, declared_only=declared_only)
        if problem is not None:
            return problem[0], f"call {index}: {problem[1]}"
    return None


def call_problem(
    call: ToolCall, schemas: Mapping[str, Mapping[str, Any]], *, declared_only: bool = False
) -> tuple[str, str] | None:
    """``(code, message)`` when ``call`` names an unknown tool or breaks its schema, else ``None``.

    With ``declared_only`` (``tool_call@2``), an argument the schema does not declare is a problem
    too, unless the schema explicitly allows more (:mod:`verifiers.tool_call.declared`).

    >>> schemas = {"f": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    >>> call_problem(ToolCall("f", {"x": "1"}), schemas)
    ('invalid_arguments', "f arguments at x: '1' is not of type 'integer'")
    >>> call_problem(ToolCall("f", {"x": 1, "y": 2}), schemas) is None
    True
    >>> call_problem(ToolCall("f", {"x": 1, "y": 2}), schemas, declared_only=True)
    ('invalid_arguments', "f arguments at y: 'y' is not an argument of f (it declares: x)")
    """
    if call.name not in schemas:
        return "unknown_tool", f"unknown tool {call.name!r}; tools: {', '.join(sorted(schemas))}"
    validator = _validator(canonical_json(schemas[call.name]), call.name)
    if declared_only:
        declared = declared_arguments(schemas[call.name])
        extra = declared.undeclared(call.arguments)
        if extra:
            names = ", ".join(repr(name) for name in extra)
            verb = "is not an argument" if len(extra) == 1 else "are not arguments"
            return (
                "invalid_arguments",
                f"{call.name} arguments at {extra[0]}: {names} {verb} of {call.name} "
                f"(it declares: {declared.describe()})",
            )
    error = best_match(validator.iter_errors(call.arguments))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return "invalid_arguments", f"{call.name} arguments at {where}: {error.message}"


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str, tool: str) -> Any:
    """A compiled validator for one tool schema (cached: the same tools recur across a dataset)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = json.loads(schema_json)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:  # the task's schema is broken, not the model
        raise BadReferenceError(f"schema of tool {tool!r} is invalid: {exc.message}") from None
    return Draft202012Validator(schema)


def _match_failure(
    expected: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    matched: dict[int, int],
    allow_extra: bool,
    *,
    no_call_reference: bool = False,
) -> str:
    missing = [expected[i]["name"] for i in range(len(expected)) if i not in matched]
    if missing:
        return f"no call matches the expected call(s) {', '.join(missing)} (name and arguments)"
    extra = [calls[j].name for j in range(len(calls)) if j not in set(matched.values())]
    if extra and not allow_extra:
        if no_call_reference and not expected:
            return (
                "no call is expected (expected_calls is []), "
                f"but the completion calls {', '.join(extra)}"
            )
        return f"unexpected extra call(s): {', '.join(extra)}"
    return ""


def _check_expected_arguments_declared(
    expected: Sequence[Mapping[str, Any]], schemas: Mapping[str, Mapping[str, Any]]
) -> None:
    """Raise :class:`BadReferenceError` for an expected call that no call could match under @2's
    rules."""
    for index, item in enumerate(expected):
        name = item["name"]
        if name not in schemas:
            raise BadReferenceError(
                f"expected_calls[{index}] names {name!r}, which is not among the tools "
                f"({', '.join(sorted(schemas)) or 'none'}), so no call can match it"
            )
        allowed = item.get("allowed") or {}
        needed = [key for key in item.get("arguments") or {} if key not in allowed]
        needed += [
            key for key, options in allowed.items() if not any(option is None for option in options)
        ]
        extra = declared_arguments(schemas[name]).undeclared(needed)
        if extra:
            raise BadReferenceError(
                f"expected_calls[{index}] ({name}) needs the argument {extra[0]!r}, which the "
                "tool's schema does not declare, so no call can match it (undeclared arguments "
                "are invalid): declare it in the tool's parameters.properties, set "
                "additionalProperties, or list null among its allowed values (may be left out)"
            )


def _answer_outcome(
    reference: Mapping[str, Any], parsed: ParsedMessage, details: dict[str, Any]
) -> Outcome:
    wanted = reference.get("answer_contains") or []
    if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
        raise BadReferenceError("'answer_contains' must be a list of strings")
    content = parsed.content.casefold()
    absent = [w for w in wanted if w.casefold() not in content]
    if absent:
        return Outcome.failed(
            "wrong_answer", f"the final answer does not mention {absent[0]!r}", **details
        )
    return Outcome.passed(**details)
