"""Tool-call verification: ``tool_call@2`` (the latest) and ``tool_call@1``, plus the parser and
mock APIs they run calls against.

``tool_call@2`` reads ``"expected_calls": []`` as "no call is expected", refuses arguments a
tool does not declare, and lets ``null`` among allowed values match an argument sent as ``null``;
``tool_call@1`` stays registered, unchanged.

>>> import verifiers
>>> ping = {"name": "ping", "parameters": {"type": "object"}}
>>> ref = {"tools": [{"type": "function", "function": ping}],
...        "expected_calls": [{"name": "ping", "arguments": {}}]}
>>> response = '<tool_call>{"name": "ping", "arguments": {}}</tool_call>'
>>> verifiers.get("tool_call@1").verify(response, ref).status.value
'pass'
>>> verifiers.resolve("tool_call")
'tool_call@2'
"""

from .declared import DeclaredArguments, declared_arguments, undeclared_arguments
from .matching import call_matches, match_calls, state_mismatch, values_equal
from .mock_apis import (
    APIS,
    BankAPI,
    CalendarAPI,
    FileStoreAPI,
    MockAPI,
    WeatherAPI,
    make_api,
    register_api,
)
from .parse import ParsedMessage, ToolCall, ToolCallParseError, parse_json_message, parse_tool_calls
from .verifier import Rules, ToolCallVerifier, call_problem, execute_calls, tool_schemas
from .verifier_v2 import ToolCallVerifierV2

__all__ = [
    "APIS",
    "BankAPI",
    "CalendarAPI",
    "DeclaredArguments",
    "FileStoreAPI",
    "MockAPI",
    "ParsedMessage",
    "Rules",
    "ToolCall",
    "ToolCallParseError",
    "ToolCallVerifier",
    "ToolCallVerifierV2",
    "WeatherAPI",
    "call_matches",
    "call_problem",
    "declared_arguments",
    "execute_calls",
    "make_api",
    "match_calls",
    "parse_json_message",
    "parse_tool_calls",
    "register_api",
    "state_mismatch",
    "tool_schemas",
    "undeclared_arguments",
    "values_equal",
]
