"""tool_call@2: "no call is expected" references, declared arguments only, null among allowed
values."""

from __future__ import annotations

import json

import pytest

import verifiers
from verifiers.errors import BadReferenceError
from verifiers.tool_call import (
    Rules,
    ToolCall,
    ToolCallVerifier,
    ToolCallVerifierV2,
    call_matches,
    call_problem,
    declared_arguments,
    undeclared_arguments,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "units": {"type": "string", "enum": ["C", "F"]},
            },
            "required": ["city"],
        },
    },
}
NO_CALL = {"tools": [WEATHER_TOOL], "expected_calls": []}
WEATHER_ENV = {"api": "weather", "state": {"forecasts": {"Oslo": {"2026-01-05": {"high_c": -3}}}}}


def block(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def v2(response: str, reference: dict):
    return verifiers.get("tool_call@2").verify(response, reference)


def outcome(verdict) -> tuple[str, str | None]:
    return verdict.status.value, verdict.failure_reason.code if verdict.failure_reason else None


def test_latest_is_v2_and_v1_stays_registered():
    assert verifiers.resolve("tool_call") == "tool_call@2"
    assert isinstance(verifiers.get("tool_call"), ToolCallVerifierV2)
    assert type(verifiers.get("tool_call@1")) is ToolCallVerifier


def test_rules_name_every_difference_between_the_versions():
    assert ToolCallVerifier.rules == Rules()
    assert ToolCallVerifierV2.rules == Rules(
        no_call_reference=True, declared_arguments_only=True, sent_null_matches=True
    )
    assert ToolCallVerifierV2.__doc__.rstrip().endswith("could never match.")
    assert "Versions: 1 - first version. 2 - " in ToolCallVerifierV2.__doc__


# -- "no call is expected" ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        "No tool here can book a flight.",
        "",
        '{"role": "assistant", "content": "No tool fits.", "tool_calls": []}',
        '{"role": "assistant", "content": null, "tool_calls": null}',
        f"<think>{block('get_weather', city='Oslo')}</think>I will not call a tool.",
    ],
)
def test_no_call_expected_passes_a_completion_without_calls(response):
    verdict = v2(response, NO_CALL)
    assert outcome(verdict) == ("pass", None)
    assert verdict.details["calls"] == []
    assert outcome(verifiers.get("tool_call@1").verify(response, NO_CALL)) == (
        "unparseable",
        "no_tool_call",
    )


@pytest.mark.parametrize(
    "response, expected",
    [
        (block("get_weather", city="Oslo"), ("fail", "wrong_calls")),
        (block("get_weather", city="Oslo") * 2, ("fail", "wrong_calls")),
        (block("get_weather", city=5), ("fail", "invalid_arguments")),
        (block("book_flight", to="Oslo"), ("fail", "unknown_tool")),
        ('<tool_call>{"name": "get_weather"', ("unparseable", "malformed_json")),
    ],
)
def test_no_call_expected_fails_any_call(response, expected):
    assert outcome(v2(response, NO_CALL)) == expected


def test_no_call_failure_says_that_no_call_is_expected():
    message = v2(block("get_weather", city="Oslo"), NO_CALL).failure_reason.message
    assert (
        message
        == "no call is expected (expected_calls is []), but the completion calls get_weather"
    )


def test_no_call_reference_with_environment_and_answer():
    reference = {"environment": WEATHER_ENV, "expected_calls": [], "answer_contains": ["forecast"]}
    assert outcome(v2("I can only give a forecast.", reference)) == ("pass", None)
    assert outcome(v2("Sorry.", reference)) == ("fail", "wrong_answer")
    assert outcome(v2(block("get_forecast", city="Oslo", date="2026-01-05"), reference)) == (
        "fail",
        "wrong_calls",
    )


def test_allow_extra_calls_next_to_no_call_makes_calls_optional():
    reference = {**NO_CALL, "allow_extra_calls": True}
    assert outcome(v2("nothing to do", reference)) == ("pass", None)
    assert outcome(v2(block("get_weather", city="Oslo"), reference)) == ("pass", None)
    assert outcome(v2(block("get_weather", town="Oslo"), reference)) == (
        "fail",
        "invalid_arguments",
    )


@pytest.mark.parametrize(
    "reference",
    [{"environment": WEATHER_ENV}, {"environment": WEATHER_ENV, "expected_calls": None}],
)
def test_a_reference_without_expected_calls_never_means_no_call(reference):
    assert outcome(v2("It will be cold.", reference)) == ("unparseable", "no_tool_call")


def test_forgotten_expected_calls_is_a_bad_reference_naming_the_empty_list():
    verdict = v2("No tool fits.", {"tools": [WEATHER_TOOL]})
    assert outcome(verdict) == ("error", "bad_reference")
    assert 'for "no call is expected", give "expected_calls": []' in verdict.failure_reason.message
    message = (
        verifiers.get("tool_call@1").verify("x", {"tools": [WEATHER_TOOL]}).failure_reason.message
    )
    assert message == "reference needs 'expected_calls', an 'environment', or both"  # @1 unchanged


# -- undeclared arguments --------------------------------------------------------------------------


def test_undeclared_argument_allowed_by_the_answer_fails_in_v2_only():
    tool = {
        "type": "function",
        "function": {
            "name": "balance",
            "parameters": {
                "type": "object",
                "properties": {"account": {"type": "string"}},
                "required": ["account"],
            },
        },
    }
    reference = {
        "tools": [tool],
        "expected_calls": [
            {
                "name": "balance",
                "arguments": {"account": "0012"},
                "allowed": {"type": ["credit", None]},
            }
        ],
    }
    response = block("balance", account="0012", type="credit")
    assert outcome(verifiers.get("tool_call@1").verify(response, reference)) == ("pass", None)
    verdict = v2(response, reference)
    assert outcome(verdict) == ("fail", "invalid_arguments")
    assert verdict.failure_reason.message == (
        "call 0: balance arguments at type: 'type' is not an argument of "
        "balance (it declares: account)"
    )
    assert outcome(v2(block("balance", account="0012"), reference)) == ("pass", None)


def test_several_undeclared_arguments_are_all_named():
    problem = call_problem(
        ToolCall("get_weather", {"city": "Oslo", "zip": 1, "lang": "no"}),
        {"get_weather": WEATHER_TOOL["function"]["parameters"]},
        declared_only=True,
    )
    assert problem == (
        "invalid_arguments",
        "get_weather arguments at zip: 'zip', 'lang' are not arguments of "
        "get_weather (it declares: city, units)",
    )


@pytest.mark.parametrize(
    "schema, arguments, undeclared",
    [
        ({"type": "object", "properties": {"a": {}}}, {"a": 1, "b": 2}, ["b"]),
        ({"type": "object"}, {"a": 1}, ["a"]),
        ({"type": "object", "required": ["a"]}, {"a": 1}, []),
        ({"type": "object", "properties": {"a": {}}, "additionalProperties": True}, {"b": 2}, []),
        ({"type": "object", "properties": {"a": {}}, "additionalProperties": {}}, {"b": 2}, []),
        (
            {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
            {"b": 2},
            ["b"],
        ),
        ({"type": "object", "unevaluatedProperties": {"type": "string"}}, {"b": "x"}, []),
        ({"type": "object", "patternProperties": {"^x_": {}}}, {"x_a": 1, "y": 2}, ["y"]),
        (
            {"anyOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]},
            {"a": 1, "b": 2, "c": 3},
            ["c"],
        ),
        (
            {
                "if": {"properties": {"k": {"const": 1}}},
                "then": {"properties": {"t": {}}},
                "else": {"properties": {"e": {}}},
            },
            {"k": 1, "t": 1, "e": 1, "z": 1},
            ["z"],
        ),
        (
            {"properties": {"a": {}}, "dependentSchemas": {"a": {"properties": {"b": {}}}}},
            {"a": 1, "b": 2},
            [],
        ),
        (
            {
                "$ref": "#/$defs/base",
                "$defs": {"base": {"properties": {"a": {}}, "allOf": [{"$ref": "#/$defs/base"}]}},
            },
            {"a": 1, "b": 2},
            ["b"],
        ),
        ({"$ref": "https://example.com/s.json"}, {"a": 1}, ["a"]),
        (
            {"properties": {"opts": {"type": "object", "properties": {"x": {}}}}},
            {"opts": {"x": 1, "y": 2}},
            [],
        ),
    ],
)
def test_declared_names(schema, arguments, undeclared):
    assert undeclared_arguments(arguments, schema) == undeclared


def test_declared_arguments_describe_names_and_patterns():
    declared = declared_arguments(
        {"properties": {"b": {}, "a": {}}, "patternProperties": {"^x-": {}}}
    )
    assert declared.describe() == "a, b; names matching ^x-"
    assert declared_arguments({"type": "object"}).describe() == "none"


def test_invalid_property_pattern_is_a_bad_reference():
    with pytest.raises(
        BadReferenceError, match="patternProperties pattern '\\(' is not a valid regex"
    ):
        declared_arguments({"patternProperties": {"(": {}}})
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"patternProperties": {"(": {}}}},
    }
    assert outcome(
        v2(block("f", a=1), {"tools": [tool], "expected_calls": [], "allow_extra_calls": True})
    ) == ("error", "bad_reference")


@pytest.mark.parametrize(
    "expected_call, match",
    [
        (
            {"name": "get_weather", "arguments": {"city": "Oslo", "country": "NO"}},
            r"expected_calls\[0\] \(get_weather\) needs the argument 'country', which the tool's "
            r"schema does not declare",
        ),
        (
            {"name": "get_weather", "arguments": {"city": "Oslo"}, "allowed": {"country": ["NO"]}},
            r"needs the argument 'country'.*list null among its allowed values",
        ),
        (
            {"name": "weather", "arguments": {"city": "Oslo"}},
            r"expected_calls\[0\] names 'weather', which is not among the tools \(get_weather\), "
            r"so no call can match it",
        ),
    ],
)
def test_expected_calls_that_no_call_could_match_are_bad_references(expected_call, match):
    verdict = v2(
        block("get_weather", city="Oslo"),
        {"tools": [WEATHER_TOOL], "expected_calls": [expected_call]},
    )
    assert outcome(verdict) == ("error", "bad_reference")
    with pytest.raises(BadReferenceError, match=match):
        ToolCallVerifierV2().check("", {"tools": [WEATHER_TOOL], "expected_calls": [expected_call]})


def test_undeclared_argument_that_may_be_left_out_is_a_good_reference():
    reference = {
        "tools": [WEATHER_TOOL],
        "expected_calls": [
            {
                "name": "get_weather",
                "arguments": {"city": "Oslo"},
                "allowed": {"country": [None, "NO"]},
            }
        ],
    }
    assert outcome(v2(block("get_weather", city="Oslo"), reference)) == ("pass", None)
    assert outcome(v2(block("get_weather", city="Oslo", country="NO"), reference)) == (
        "fail",
        "invalid_arguments",
    )


def test_bundled_mock_apis_already_refuse_undeclared_arguments_in_both_versions():
    reference = {
        "environment": WEATHER_ENV,
        "expected_calls": [
            {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}
        ],
    }
    response = block("get_forecast", city="Oslo", date="2026-01-05", units="C")
    for spec in ("tool_call@1", "tool_call@2"):
        assert outcome(verifiers.get(spec).verify(response, reference)) == (
            "fail",
            "invalid_arguments",
        )


# -- null among allowed values ---------------------------------------------------------------------


def power_reference(mod_schema: dict, required: tuple[str, ...] = ("base",), **expected) -> dict:
    tool = {
        "type": "function",
        "function": {
            "name": "power",
            "parameters": {
                "type": "object",
                "properties": {"base": {"type": "integer"}, "mod": mod_schema},
                "required": list(required),
            },
        },
    }
    return {
        "tools": [tool],
        "expected_calls": [{"name": "power", "arguments": {"base": 3}, **expected}],
    }


NULLABLE = {"type": ["number", "null"]}


@pytest.mark.parametrize(
    "reference, response, at_v1, at_v2",
    [
        (
            power_reference(NULLABLE, allowed={"mod": [None]}),
            block("power", base=3, mod=None),
            "fail wrong_calls",
            "pass",
        ),
        (
            power_reference(NULLABLE, allowed={"mod": [None]}),
            block("power", base=3),
            "pass",
            "pass",
        ),
        (
            power_reference(NULLABLE, allowed={"mod": [None, 7]}),
            block("power", base=3, mod=7.0),
            "pass",
            "pass",
        ),
        (
            power_reference(NULLABLE, allowed={"mod": [7]}),
            block("power", base=3, mod=None),
            "fail wrong_calls",
            "fail wrong_calls",
        ),
        (
            power_reference(NULLABLE, ("base", "mod"), allowed={"mod": [None]}),
            block("power", base=3, mod=None),
            "fail wrong_calls",
            "pass",
        ),
        (
            power_reference(NULLABLE, ("base", "mod"), allowed={"mod": [None]}),
            block("power", base=3),
            "fail invalid_arguments",
            "fail invalid_arguments",
        ),
        (
            power_reference({"type": "number"}, allowed={"mod": [None]}),
            block("power", base=3, mod=None),
            "fail invalid_arguments",
            "fail invalid_arguments",
        ),
        (
            power_reference(NULLABLE, arguments={"base": 3, "mod": None}),
            block("power", base=3, mod=None),
            "pass",
            "pass",
        ),
        (
            power_reference(NULLABLE, arguments={"base": 3, "mod": None}),
            block("power", base=3),
            "fail wrong_calls",
            "fail wrong_calls",
        ),
    ],
)
def test_null_among_allowed_values(reference, response, at_v1, at_v2):
    def shown(spec):
        verdict = verifiers.get(spec).verify(response, reference)
        return " ".join(filter(None, outcome(verdict)))

    assert (shown("tool_call@1"), shown("tool_call@2")) == (at_v1, at_v2)


def test_call_matches_sent_null_only_when_asked():
    expected = {"name": "f", "allowed": {"mod": [None]}}
    assert call_matches(expected, ToolCall("f", {}))
    assert not call_matches(expected, ToolCall("f", {"mod": None}))
    assert call_matches(expected, ToolCall("f", {"mod": None}), sent_null_matches=True)
    assert not call_matches(
        {"name": "f", "allowed": {"mod": [0, False, ""]}},
        ToolCall("f", {"mod": None}),
        sent_null_matches=True,
    )
