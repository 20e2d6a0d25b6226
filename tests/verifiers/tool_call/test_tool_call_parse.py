"""Parsing tool calls in every accepted format, and the distinct parse failures."""

from __future__ import annotations

import json

import pytest

from verifiers.tool_call import ToolCall, ToolCallParseError, parse_json_message, parse_tool_calls

CALL = {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}


def openai_message(arguments: str, content: str | None = None) -> str:
    return json.dumps(
        {
            "role": "assistant",
            "content": content,
            "tool_calls": [
                {
                    "id": "c7",
                    "type": "function",
                    "function": {"name": "get_forecast", "arguments": arguments},
                }
            ],
        }
    )


@pytest.mark.parametrize(
    "text, fmt",
    [
        (f"<tool_call>{json.dumps(CALL)}</tool_call>", "hermes"),
        (f"Let me check.\n<tool_call>\n{json.dumps(CALL, indent=2)}\n</tool_call>", "hermes"),
        (openai_message(json.dumps(CALL["arguments"])), "openai"),
        (json.dumps(CALL), "json"),
        (json.dumps([CALL]), "json"),
        ("```json\n" + json.dumps(CALL) + "\n```", "json"),
        (
            json.dumps(
                {"function": {"name": "get_forecast", "arguments": json.dumps(CALL["arguments"])}}
            ),
            "json",
        ),
        (json.dumps({"name": "get_forecast", "parameters": CALL["arguments"]}), "json"),
    ],
)
def test_each_format_gives_the_same_call(text, fmt):
    parsed = parse_tool_calls(text)
    assert parsed.format == fmt
    assert [(c.name, c.arguments) for c in parsed.calls] == [(CALL["name"], CALL["arguments"])]


def test_hermes_keeps_the_text_outside_the_blocks_as_content():
    parsed = parse_tool_calls(f"Checking.<tool_call>{json.dumps(CALL)}</tool_call>\nDone: -3 C")
    assert parsed.content == "Checking.\nDone: -3 C"


def test_openai_message_keeps_ids_and_content():
    parsed = parse_tool_calls(openai_message("{}", content="on it"))
    assert parsed.calls == (ToolCall("get_forecast", {}, "c7"),)
    assert parsed.content == "on it"


def test_several_hermes_blocks_keep_their_order():
    text = "".join(
        f'<tool_call>{{"name": "t{i}", "arguments": {{}}}}</tool_call>' for i in range(3)
    )
    assert [c.name for c in parse_tool_calls(text).calls] == ["t0", "t1", "t2"]


def test_plain_text_has_no_calls():
    parsed = parse_tool_calls("  The high will be -3 C.  ")
    assert (
        parsed.calls == ()
        and parsed.format == "text"
        and parsed.content == "The high will be -3 C."
    )


@pytest.mark.parametrize(
    "text, code, match",
    [
        (
            '<tool_call>{"name": "f", "arguments": {,}}</tool_call>',
            "malformed_json",
            "block 0 is not valid JSON",
        ),
        ('<tool_call>{"name": "f"}', "malformed_json", "not closed"),
        (
            openai_message("{city: Oslo}"),
            "malformed_json",
            "arguments of call 0 .get_forecast. are not valid JSON",
        ),
        ('{"name": "f", "arguments": {', "malformed_json", "looks like JSON but does not parse"),
        ('{"city": "Oslo"}', "bad_call_shape", "neither a tool call"),
        ('{"name": "f", "arguments": [1]}', "bad_call_shape", "must be a JSON object"),
        ('[{"arguments": {}}]', "bad_call_shape", "has no string 'name'"),
        ('["f"]', "bad_call_shape", "not an object"),
        ('{"tool_calls": {"name": "f"}}', "bad_call_shape", "'tool_calls' must be a list"),
    ],
)
def test_malformed_input_raises_with_a_code(text, code, match):
    with pytest.raises(ToolCallParseError, match=match) as info:
        parse_tool_calls(text)
    assert info.value.code == code


def test_to_openai_round_trips():
    call = ToolCall("f", {"x": [1, "é"]}, "id1")
    assert parse_json_message({"tool_calls": [call.to_openai()]}).calls == (call,)


def test_deep_nesting_is_a_parse_error_not_a_crash():
    deep = '{"name": "f", "arguments": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ToolCallParseError) as info:
        parse_tool_calls(deep)
    assert info.value.code in ("too_deep", "bad_call_shape")
    with pytest.raises(ToolCallParseError) as info:
        parse_tool_calls("<tool_call>" + "[" * 100_000 + "</tool_call>")
    assert info.value.code in ("too_deep", "malformed_json")


def test_many_unclosed_blocks_parse_in_linear_time():
    text = "<tool_call>{" * 50_000  # a backtracking regex would take minutes here
    with pytest.raises(ToolCallParseError, match="not closed"):
        parse_tool_calls(text)


def test_nested_open_tag_is_malformed():
    with pytest.raises(ToolCallParseError, match="not closed before the next one opens"):
        parse_tool_calls('<tool_call>{"name": "f"}<tool_call>{"name": "g"}</tool_call>')


F_CALL = '{"name": "f", "arguments": {"x": 1}}'


@pytest.mark.parametrize(
    "text",
    [
        f"<think>I will call f</think>\n{F_CALL}",
        f"<think>hmm</think>\n```json\n{F_CALL}\n```",
        f"<thinking>plan</thinking>\n<tool_call>{F_CALL}</tool_call>",
        f'<think>maybe <tool_call>{{"name": "g", "arguments": {{}}}}</tool_call></think>\n'
        f'<tool_call>{F_CALL}</tool_call>',
    ],
)
def test_closed_reasoning_blocks_are_not_calls_and_do_not_hide_calls(text):
    parsed = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("f", {"x": 1})]
    assert "think" not in parsed.content


def test_reasoning_is_not_part_of_the_final_answer_and_unclosed_think_is_kept():
    assert parse_tool_calls("<think>Paris?</think>It is sunny.").content == "It is sunny."
    assert parse_tool_calls("<think>still thinking").content == "<think>still thinking"


def test_fence_stripping_agrees_with_the_documented_regex_and_is_linear():
    import random

    from verifiers.tool_call.parse import _FENCE_RE, _unfence

    def by_regex(text):
        match = _FENCE_RE.match(text)
        return match.group(1).strip() if match else text

    pieces = ["```", "`", "\n", " ", "json", "x", "{}", "-"]
    rng = random.Random(3)
    samples = [
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))).strip() for _ in range(20000)
    ]
    assert [_unfence(s) for s in samples] == [by_regex(s) for s in samples]
    assert sum(_unfence(s) != s for s in samples) > 10
    # blank lines after a fence made the regex backtrack quadratically (~1 min here); now instant
    assert parse_tool_calls("```json\n" + " \n" * 80000 + "x").calls == ()
