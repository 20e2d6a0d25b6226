"""Parse tool calls out of a completion, in the common formats.

Accepted, tried in this order:

0. Closed ``<think>...</think>`` / ``<thinking>...</thinking>`` reasoning blocks are removed
   first (calls drafted while thinking are not calls).
1. ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (Hermes / Qwen style);
   the text outside the blocks is the message content.
2. The whole completion (optionally in a fenced code block) as JSON:
   * an OpenAI assistant message ``{"content": ..., "tool_calls": [{"function": {"name": ...,
     "arguments": "<JSON string>"}}]}``;
   * a list of calls, each OpenAI-style or ``{"name": ..., "arguments": {...}}``;
   * one bare call object.
3. Anything else is plain text with no tool call (a final answer, in a conversation).

Malformed input raises :class:`ToolCallParseError` with a ``code``: ``malformed_json`` (a block,
a JSON-looking completion or an arguments string that is not valid JSON), ``too_deep`` (JSON
nested beyond the parser's recursion limit) or ``bad_call_shape`` (valid JSON that is not a
call: no ``name``, arguments not an object). Parsing is linear in the input length.

>>> parse_tool_calls('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call> done').calls
(ToolCall(name='f', arguments={'x': 1}, id='call_0'),)
>>> parse_tool_calls('{"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}').format
'openai'
>>> parse_tool_calls("The answer is 4.").calls
()
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

_OPEN_TAG, _CLOSE_TAG = "<tool_call>", "</tool_call>"
_FENCE_RE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)  # the rule; see _unfence
_FENCE_HEADER = re.compile(r"[a-zA-Z0-9_-]*\s*")


class ToolCallParseError(ValueError):
    """The completion tries to call tools but cannot be read; ``code`` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ToolCall:
    """One parsed call: the tool name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any]
    id: str = ""

    def to_openai(self) -> dict[str, Any]:
        """The call in OpenAI ``tool_calls`` form (arguments as a JSON string)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {
                "name": self.name,
                "arguments": json.dumps(self.arguments, ensure_ascii=False),
            },
        }


@dataclass(frozen=True)
class ParsedMessage:
    """The calls found in a completion, the format they came in, and the remaining text."""

    calls: tuple[ToolCall, ...]
    format: str
    """``hermes``, ``openai``, ``json`` or ``text`` (no call)."""
    content: str = ""
    """Text outside the calls (the final answer when there are no calls)."""
    extra: Mapping[str, Any] = field(default_factory=dict)


def parse_tool_calls(text: str) -> ParsedMessage:
    """Find the tool calls in ``text``; raises :class:`ToolCallParseError` for malformed ones.

    Closed reasoning blocks (``<think>...</think>``, ``<thinking>...</thinking>``) are removed
    first: calls drafted while thinking do not count, and neither does their text as content.
    """
    text = strip_reasoning(text)
    if _OPEN_TAG in text:
        return _parse_hermes(text)
    body = _unfence(text.strip())
    if not body.startswith(("{", "[")):
        return ParsedMessage((), "text", text.strip())
    return parse_json_message(_loads(body, "the completion looks like JSON but does not parse"))


_REASONING_TAGS = (("<think>", "</think>"), ("<thinking>", "</thinking>"))


def strip_reasoning(text: str) -> str:
    """``text`` without its closed ``<think>``/``<thinking>`` blocks (one linear pass per tag).

    An unclosed block is left as it is.

    >>> strip_reasoning('<think>maybe f?</think>{"name": "f"}')
    '{"name": "f"}'
    """
    for open_tag, close_tag in _REASONING_TAGS:
        if open_tag not in text:
            continue
        kept, position = [], 0
        while (start := text.find(open_tag, position)) != -1:
            end = text.find(close_tag, start + len(open_tag))
            if end == -1:
                break
            kept.append(text[position:start])
            position = end + len(close_tag)
        kept.append(text[position:])
        text = "".join(kept)
    return text


def parse_json_message(data: Any) -> ParsedMessage:
    """Calls from already-decoded JSON: an OpenAI message, a list of calls, or one call."""
    if isinstance(data, Mapping) and "tool_calls" in data:
        raw = data["tool_calls"] or []
        if not isinstance(raw, list):
            raise ToolCallParseError("bad_call_shape", "'tool_calls' must be a list")
        content = data.get("content") or ""
        calls = tuple(_call(item, index) for index, item in enumerate(raw))
        return ParsedMessage(
            calls, "openai", content if isinstance(content, str) else json.dumps(content)
        )
    if isinstance(data, list):
        return ParsedMessage(
            tuple(_call(item, index) for index, item in enumerate(data)), "json", ""
        )
    if isinstance(data, Mapping) and ("name" in data or "function" in data):
        return ParsedMessage((_call(data, 0),), "json", "")
    raise ToolCallParseError(
        "bad_call_shape",
        "JSON completion is neither a tool call, a list of calls nor a message with 'tool_calls'",
    )


def _parse_hermes(text: str) -> ParsedMessage:
    """Split out ``<tool_call>`` blocks in one linear pass (no backtracking regex on long input)."""
    calls, outside, position = [], [], 0
    while (start := text.find(_OPEN_TAG, position)) != -1:
        end = text.find(_CLOSE_TAG, start + len(_OPEN_TAG))
        if end == -1:
            raise ToolCallParseError(
                "malformed_json", "a <tool_call> block is not closed with </tool_call>"
            )
        body = text[start + len(_OPEN_TAG) : end]
        if _OPEN_TAG in body:
            raise ToolCallParseError(
                "malformed_json", "a <tool_call> block is not closed before the next one opens"
            )
        outside.append(text[position:start])
        index = len(calls)
        calls.append(
            _call(
                _loads(_unfence(body.strip()), f"<tool_call> block {index} is not valid JSON"),
                index,
            )
        )
        position = end + len(_CLOSE_TAG)
    outside.append(text[position:])
    return ParsedMessage(tuple(calls), "hermes", "".join(outside).strip())


def _loads(text: str, problem: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolCallParseError("malformed_json", f"{problem}: {exc}") from None
    except RecursionError:
        raise ToolCallParseError("too_deep", f"{problem}: it nests too deeply") from None


def _call(item: Any, index: int) -> ToolCall:
    if not isinstance(item, Mapping):
        raise ToolCallParseError(
            "bad_call_shape", f"call {index} is {type(item).__name__}, not an object"
        )
    call_id = item.get("id") if isinstance(item.get("id"), str) else f"call_{index}"
    if isinstance(item.get("function"), Mapping):
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ToolCallParseError("bad_call_shape", f"call {index} has no string 'name'")
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        problem = f"arguments of call {index} ({name}) are not valid JSON"
        arguments = _loads(arguments, problem) if arguments.strip() else {}
    if not isinstance(arguments, Mapping):
        raise ToolCallParseError(
            "bad_call_shape", f"arguments of call {index} ({name}) must be a JSON object"
        )
    return ToolCall(name, dict(arguments), call_id)


def _unfence(text: str) -> str:
    """The body of ``text`` when all of it is one fenced block (```` ```lang ... ``` ````), else
    ``text``.

    Same result as ``_FENCE_RE.match`` on stripped text, in linear time (the regex backtracks
    quadratically on a fence followed by many blank lines).
    """
    newline = text.find("\n")
    if (
        not text.startswith("```")
        or newline == -1
        or not text.endswith("```")
        or len(text) - 3 <= newline
    ):
        return text
    if _FENCE_HEADER.fullmatch(text, 3, newline) is None:
        return text
    return text[newline + 1 : len(text) - 3].strip()
