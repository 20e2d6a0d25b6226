"""Tool-call verification: ``tool_call@1`` plus the parser and mock APIs it runs calls against.

>>> import verifiers
>>> ref = {"tools": [{"type": "function", "function": {"name": "ping", "parameters": {"type": "object"}}}],
...        "expected_calls": [{"name": "ping", "arguments": {}}]}
>>> verifiers.get("tool_call@1").verify('<tool_call>{"name": "ping", "arguments": {}}</tool_call>', ref).status.value
'pass'
"""

from .matching import call_matches, match_calls, state_mismatch, values_equal
from .mock_apis import APIS, BankAPI, CalendarAPI, FileStoreAPI, MockAPI, WeatherAPI, make_api, register_api
from .parse import ParsedMessage, ToolCall, ToolCallParseError, parse_json_message, parse_tool_calls
from .verifier import ToolCallVerifier, call_problem, execute_calls, tool_schemas

__all__ = [
    "APIS",
    "BankAPI",
    "CalendarAPI",
    "FileStoreAPI",
    "MockAPI",
    "ParsedMessage",
    "ToolCall",
    "ToolCallParseError",
    "ToolCallVerifier",
    "WeatherAPI",
    "call_matches",
    "call_problem",
    "execute_calls",
    "make_api",
    "match_calls",
    "parse_json_message",
    "parse_tool_calls",
    "register_api",
    "state_mismatch",
    "tool_schemas",
    "values_equal",
]
