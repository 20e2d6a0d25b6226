"""tool_call@1: every failure reason, execution against the mock APIs, matching rules."""

from __future__ import annotations

import json

import pytest

import verifiers
from verifiers.tool_call import (
    APIS,
    MockAPI,
    call_matches,
    make_api,
    register_api,
    state_mismatch,
    ToolCall,
)

WEATHER = {
    "environment": {
        "api": "weather",
        "state": {"forecasts": {"Oslo": {"2026-01-05": {"high_c": -3}}}},
    },
    "expected_calls": [
        {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}
    ],
}
BANK = {
    "environment": {
        "api": "bank",
        "state": {"accounts": {"a": {"balance_cents": 1000}, "b": {"balance_cents": 0}}},
    },
    "expected_state": {"accounts": {"a": {"balance_cents": 400}, "b": {"balance_cents": 600}}},
}


def block(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def grade(response: str, reference: dict):
    return verifiers.get("tool_call@1").verify(response, reference)


@pytest.mark.parametrize(
    "response, reference, status, code",
    [
        (
            '<tool_call>{"name": "get_forecast", "arguments": }</tool_call>',
            WEATHER,
            "unparseable",
            "malformed_json",
        ),
        ('{"oops": 1}', WEATHER, "unparseable", "bad_call_shape"),
        ("no call here", WEATHER, "unparseable", "no_tool_call"),
        (block("get_weather", city="Oslo", date="2026-01-05"), WEATHER, "fail", "unknown_tool"),
        (block("get_forecast", city="Oslo", date=5), WEATHER, "fail", "invalid_arguments"),
        (block("get_forecast", city="Rome", date="2026-01-05"), WEATHER, "fail", "wrong_calls"),
        (
            block("transfer", from_account="a", to_account="b", amount_cents=5000),
            BANK,
            "fail",
            "call_failed",
        ),
        (
            block("transfer", from_account="a", to_account="b", amount_cents=500),
            BANK,
            "fail",
            "end_state_mismatch",
        ),
        (
            block("get_forecast", city="Oslo", date="2026-01-05"),
            {**WEATHER, "answer_contains": ["-3"]},
            "fail",
            "wrong_answer",
        ),
    ],
)
def test_each_failure_reason_is_distinct(response, reference, status, code):
    verdict = grade(response, reference)
    assert (verdict.status.value, verdict.failure_reason.code) == (status, code)


def test_failure_codes_are_all_different():
    codes = [
        "malformed_json",
        "bad_call_shape",
        "no_tool_call",
        "unknown_tool",
        "invalid_arguments",
        "wrong_calls",
        "call_failed",
        "end_state_mismatch",
        "wrong_answer",
    ]
    assert len(set(codes)) == len(codes)


def test_passing_executable_check_records_statuses():
    verdict = grade(block("transfer", from_account="a", to_account="b", amount_cents=600), BANK)
    assert verdict.passed
    assert verdict.details["statuses"] == [200]
    assert verdict.details["calls"] == [
        {
            "name": "transfer",
            "arguments": {"from_account": "a", "to_account": "b", "amount_cents": 600},
        }
    ]


def test_verdicts_are_deterministic():
    response = block("get_forecast", city="Oslo", date="2026-01-05")
    assert grade(response, WEATHER).identity() == grade(response, WEATHER).identity()


def test_schema_message_names_the_argument():
    verdict = grade(block("get_forecast", city="Oslo", date=5), WEATHER)
    assert "date" in verdict.failure_reason.message


@pytest.mark.parametrize(
    "reference, match",
    [
        ({"tools": []}, "needs 'expected_calls', an 'environment', or both"),
        ({"environment": {"api": "nope"}}, "unknown mock API 'nope'"),
        (
            {"expected_calls": "x", "environment": {"api": "weather"}},
            "expected_calls must be a list",
        ),
        (
            {
                "expected_calls": [{"name": "f"}],
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"type": 12}}}
                ],
            },
            "schema of tool 'f' is invalid",
        ),
    ],
)
def test_bad_references_are_error_verdicts(reference, match):
    verdict = grade(block("f"), reference)
    assert verdict.status.value == "error" and verdict.failure_reason.code == "bad_reference"
    assert match in verdict.failure_reason.message


def test_calendar_refuses_overlaps_and_finds_slots():
    api = make_api(
        "calendar",
        {
            "events": [
                {
                    "id": "evt-1",
                    "title": "A",
                    "date": "2026-01-01",
                    "start": "09:00",
                    "end": "10:00",
                    "attendees": [],
                }
            ],
            "next_id": 2,
        },
    )
    assert (
        api.call("find_free_slot", {"date": "2026-01-01", "duration_minutes": 30})[1]["start"]
        == "10:00"
    )
    assert (
        api.call(
            "create_event", {"title": "B", "date": "2026-01-01", "start": "09:30", "end": "10:30"}
        )[0]
        == 409
    )
    assert (
        api.call(
            "create_event", {"title": "B", "date": "2026-01-01", "start": "10:00", "end": "10:30"}
        )[0]
        == 201
    )
    assert api.call("cancel_event", {"event_id": "evt-9"})[0] == 404
    assert api.call("create_event", {"title": "B"})[0] == 400


def test_bank_weather_and_files_status_codes():
    bank = make_api("bank", {"accounts": {"a": {"balance_cents": 100}, "b": {"balance_cents": 0}}})
    assert (
        bank.call("transfer", {"from_account": "a", "to_account": "b", "amount_cents": 101})[0]
        == 422
    )
    assert bank.call("deposit", {"account": "zz", "amount_cents": 1})[0] == 404
    assert make_api("weather").call("get_forecast", {"city": "X", "date": "2026-01-01"})[0] == 404
    files = make_api("files")
    assert files.call("write_file", {"path": "a", "content": "x"})[0] == 201
    assert files.call("write_file", {"path": "a", "content": "y"})[0] == 200
    assert files.call("read_file", {"path": "a"}) == (200, {"path": "a", "content": "y"})
    assert files.call("nope", {})[0] == 404


def test_mock_state_is_isolated_from_the_reference():
    state = {"files": {"a": "1"}}
    make_api("files", state).call("delete_file", {"path": "a"})
    assert state == {"files": {"a": "1"}}


def test_user_registered_api_runs_in_the_verifier():
    class Counter(MockAPI):
        """A counter with one tool."""

        name = "test_counter"
        TOOLS = (
            {
                "type": "function",
                "function": {
                    "name": "bump",
                    "parameters": {
                        "type": "object",
                        "properties": {"by": {"type": "integer"}},
                        "required": ["by"],
                    },
                },
            },
        )

        @classmethod
        def initial_state(cls):
            return {"n": 0}

        def tool_bump(self, by):
            if by == 13:
                raise RuntimeError("unlucky")
            self.state["n"] += by
            return 200, {"n": self.state["n"]}

    register_api(Counter)
    try:
        reference = {"environment": {"api": "test_counter"}, "expected_state": {"n": 5}}
        assert grade(block("bump", by=2) + block("bump", by=3), reference).passed
        assert make_api("test_counter").call("bump", {"by": 13}) == (
            500,
            {"error": "bump failed: RuntimeError: unlucky"},
        )
        assert grade(block("bump", by=13), reference).failure_reason.code == "call_failed"
        with pytest.raises(ValueError, match="already registered"):
            register_api(type("Other", (Counter,), {}))
    finally:
        del APIS["test_counter"]


def test_allowed_values_and_optional_arguments():
    expected = {"name": "f", "arguments": {"x": 1}, "allowed": {"y": ["a", None]}}
    assert call_matches(expected, ToolCall("f", {"x": 1}))
    assert call_matches(expected, ToolCall("f", {"x": 1.0, "y": " a "}))
    assert not call_matches(expected, ToolCall("f", {"x": 1, "y": "b"}))
    assert not call_matches(expected, ToolCall("f", {"x": 1, "z": 0}))
    assert not call_matches(expected, ToolCall("f", {"x": True}))


def test_state_mismatch_reports_the_path():
    assert state_mismatch({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}]}) is None
    assert state_mismatch({"a": [{"b": 1}]}, {"a": [{"b": 2}]}) == "$.a[0]: no matching item"
    assert state_mismatch({"a": {"b": 1}}, {"a": {}}) == "$.a.b: missing"
