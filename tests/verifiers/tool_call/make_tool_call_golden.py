"""Writes verifiers/golden/tool_call@1.jsonl and tool_call@2.jsonl
(run: .venv/bin/python tests/verifiers/tool_call/make_tool_call_golden.py).

The tables are data; this script only keeps them readable and reviewable. Regenerating must not
change any expected status: a change that flips one needs a new version. tool_call@2's table holds
every @1 row (none of @2's changes touches them) and then rows for what @2 changed: "no call is
expected" references, undeclared arguments, and null among allowed values.
"""

import json

W = {
    "environment": {
        "api": "weather",
        "state": {"forecasts": {"Oslo": {"2026-01-05": {"high_c": -3, "condition": "snow"}}}},
    },
    "expected_calls": [
        {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}
    ],
    "answer_contains": ["-3"],
}
FC = '{"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}'
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "greet",
            "parameters": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "lang": {"type": "string", "enum": ["en", "fr", "de"]},
                },
                "required": ["name"],
            },
        },
    },
]
P = {
    "tools": TOOLS,
    "expected_calls": [
        {"name": "add", "arguments": {"a": 2, "b": 3}},
        {"name": "greet", "arguments": {"name": "Ada"}, "allowed": {"lang": ["en", "fr", None]}},
    ],
}
CAL_STATE = {
    "events": [
        {
            "id": "evt-1",
            "title": "Standup",
            "date": "2026-03-02",
            "start": "09:00",
            "end": "09:30",
            "attendees": [],
        }
    ],
    "next_id": 2,
}
CREATE = {"title": "Sync", "date": "2026-03-02", "start": "10:00", "end": "10:30"}
C = {
    "environment": {"api": "calendar", "state": CAL_STATE},
    "expected_calls": [
        {"name": "create_event", "arguments": CREATE, "allowed": {"attendees": [None, []]}}
    ],
    "expected_state": {
        "events": [{"title": "Standup"}, {"title": "Sync", "start": "10:00", "end": "10:30"}]
    },
}
CX = {
    "environment": {"api": "calendar", "state": CAL_STATE},
    "allow_extra_calls": True,
    "expected_calls": [
        {"name": "create_event", "arguments": CREATE, "allowed": {"attendees": [None, []]}}
    ],
}
B = {
    "environment": {
        "api": "bank",
        "state": {
            "accounts": {"checking": {"balance_cents": 10000}, "savings": {"balance_cents": 500}}
        },
    },
    "expected_state": {
        "accounts": {"checking": {"balance_cents": 7500}, "savings": {"balance_cents": 3000}}
    },
}


def tc(name, args):
    return f'<tool_call>{json.dumps({"name": name, "arguments": args})}</tool_call>'


def oai(calls, content=None):
    return json.dumps(
        {
            "role": "assistant",
            "content": content,
            "tool_calls": [
                {
                    "id": f"c{i}",
                    "type": "function",
                    "function": {"name": n, "arguments": json.dumps(a)},
                }
                for i, (n, a) in enumerate(calls)
            ],
        }
    )


T = lambda a, b: (
    {"from_account": "checking", "to_account": "savings", "amount_cents": a} if b is None else b
)
rows = [
    (
        W,
        f"{tc('get_forecast', {'city': 'Oslo', 'date': '2026-01-05'})}\nIt will be -3 °C.",
        "pass",
        None,
        "hermes block plus final answer",
    ),
    (
        W,
        oai([("get_forecast", {"city": "Oslo", "date": "2026-01-05"})], "High of -3 C"),
        "pass",
        None,
        "OpenAI message with JSON-string arguments",
    ),
    (W, FC, "fail", "wrong_answer", "bare call object has no answer text, answer_contains fails"),
    (
        W,
        f"{tc('get_forecast', {'city': 'Oslo', 'date': '2026-01-05'})}\nIt will be cold.",
        "fail",
        "wrong_answer",
        "answer lacks the expected value",
    ),
    (
        W,
        '<tool_call>{"name": "get_forecast", "arguments": {"city": "Oslo",}}</tool_call>',
        "unparseable",
        "malformed_json",
        "trailing comma inside a tool_call block",
    ),
    (
        W,
        '<tool_call>{"name": "get_forecast", "arguments": {}}',
        "unparseable",
        "malformed_json",
        "unclosed tool_call block",
    ),
    (
        W,
        '{"tool_calls": [{"function": {"name": "get_forecast", "arguments": "{city: Oslo}"}}]}',
        "unparseable",
        "malformed_json",
        "OpenAI arguments string is not JSON",
    ),
    (
        W,
        '{"name": "get_forecast", "arguments": {"city": "Oslo"',
        "unparseable",
        "malformed_json",
        "truncated bare JSON",
    ),
    (W, "The high in Oslo will be -3 C.", "unparseable", "no_tool_call", "plain text, no call"),
    (
        W,
        '{"role": "assistant", "content": "-3", "tool_calls": []}',
        "unparseable",
        "no_tool_call",
        "OpenAI message with an empty tool_calls list",
    ),
    (W, '{"city": "Oslo"}', "unparseable", "bad_call_shape", "JSON object that is not a call"),
    (
        W,
        '{"name": "get_forecast", "arguments": ["Oslo"]}',
        "unparseable",
        "bad_call_shape",
        "arguments is a list",
    ),
    (W, '[1, 2]', "unparseable", "bad_call_shape", "list of non-objects"),
    (
        W,
        "[" * 5000 + "]" * 5000,
        "unparseable",
        "too_deep",
        "JSON nested beyond the parser's recursion limit",
    ),
    (
        W,
        tc("get_weather", {"city": "Oslo", "date": "2026-01-05"}) + " -3",
        "fail",
        "unknown_tool",
        "tool name not in the API",
    ),
    (
        W,
        tc("get_forecast", {"city": "Oslo", "date": 20260105}) + " -3",
        "fail",
        "invalid_arguments",
        "argument of the wrong type",
    ),
    (
        W,
        tc("get_forecast", {"city": "Oslo"}) + " -3",
        "fail",
        "invalid_arguments",
        "missing required argument",
    ),
    (
        W,
        tc("get_forecast", {"city": "Oslo", "date": "2026-01-05", "units": "C"}) + " -3",
        "fail",
        "invalid_arguments",
        "extra argument rejected by additionalProperties",
    ),
    (
        W,
        tc("get_forecast", {"city": "Oslo", "date": "5 Jan 2026"}) + " -3",
        "fail",
        "invalid_arguments",
        "argument breaks the schema pattern",
    ),
    (
        W,
        tc("get_forecast", {"city": "Bergen", "date": "2026-01-05"}) + " -3",
        "fail",
        "wrong_calls",
        "valid call with the wrong argument value",
    ),
    (
        W,
        tc("get_forecast", {"city": "Oslo", "date": "2026-01-05"}) * 2 + " -3",
        "fail",
        "wrong_calls",
        "duplicate call where extra calls are not allowed",
    ),
    (
        P,
        '```json\n[{"name": "add", "arguments": {"a": 2, "b": 3}}, {"name": "greet", "arguments": '
        '{"name": "Ada"}}]\n```',
        "pass",
        None,
        "fenced bare JSON list, optional argument omitted",
    ),
    (
        P,
        '[{"name": "greet", "arguments": {"name": "Ada", "lang": "fr"}}, {"name": "add", '
        '"arguments": {"b": 3, "a": 2}}]',
        "pass",
        None,
        "parallel calls in the other order, allowed value",
    ),
    (
        P,
        '[{"name": "greet", "arguments": {"name": "Ada", "lang": "de"}}, {"name": "add", '
        '"arguments": {"a": 2, "b": 3}}]',
        "fail",
        "wrong_calls",
        "argument value outside the allowed list",
    ),
    (
        P,
        '[{"name": "add", "arguments": {"a": 2, "b": 3}}]',
        "fail",
        "wrong_calls",
        "one of two parallel calls missing",
    ),
    (
        P,
        '[{"name": "add", "arguments": {"a": 2.0, "b": 3}}, {"name": "greet", "arguments": '
        '{"name": "Ada"}}]',
        "pass",
        None,
        "2.0 equals 2 (JSON number semantics)",
    ),
    (
        P,
        '[{"name": "add", "arguments": {"a": true, "b": 3}}, {"name": "greet", "arguments": '
        '{"name": "Ada"}}]',
        "fail",
        "invalid_arguments",
        "boolean is not an integer",
    ),
    (
        P,
        '{"function": {"name": "add", "arguments": "{\\"a\\": 2, \\"b\\": 3}"}}',
        "fail",
        "wrong_calls",
        "single OpenAI call object, second expected call missing",
    ),
    (
        P,
        '[{"name": "add", "parameters": {"a": 2, "b": 3}}, {"name": "greet", "parameters": '
        '{"name": "Ada"}}]',
        "pass",
        None,
        "'parameters' accepted as the arguments key",
    ),
    (
        C,
        tc("create_event", CREATE),
        "pass",
        None,
        "create succeeds, end state holds, attendees omitted",
    ),
    (
        C,
        oai([("create_event", {**CREATE, "attendees": []})]),
        "pass",
        None,
        "explicit empty attendees is an allowed value",
    ),
    (
        C,
        tc("create_event", {**CREATE, "start": "09:15", "end": "09:45"}),
        "fail",
        "wrong_calls",
        "wrong time",
    ),
    (
        CX,
        tc("list_events", {"date": "2026-03-02"}) + tc("create_event", CREATE),
        "pass",
        None,
        "extra read-only call allowed",
    ),
    (
        CX,
        tc("create_event", {**CREATE, "start": "10:00", "end": "10:30"})
        + tc("create_event", {**CREATE, "title": "Dup"}),
        "pass",
        None,
        "an allowed extra call that fails (409 overlap) is not required, so it does not fail the "
        "verdict",
    ),
    (
        B,
        tc("transfer", T(2500, None)),
        "pass",
        None,
        "executable check only: transfer gives the end state",
    ),
    (
        B,
        tc("transfer", T(2000, None)),
        "fail",
        "end_state_mismatch",
        "wrong amount leaves the wrong end state",
    ),
    (B, tc("transfer", T(20000, None)), "fail", "call_failed", "insufficient funds: 422"),
    (
        B,
        tc(
            "transfer",
            {"from_account": "checking", "to_account": "brokerage", "amount_cents": 2500},
        ),
        "fail",
        "call_failed",
        "unknown account: 404",
    ),
    (
        B,
        tc("deposit", {"account": "savings", "amount_cents": 2500}) + tc("transfer", T(2500, None)),
        "fail",
        "end_state_mismatch",
        "extra deposit changes the end state",
    ),
    (
        {"tools": TOOLS},
        tc("add", {"a": 1, "b": 2}),
        "error",
        "bad_reference",
        "reference without expected calls or environment",
    ),
    (
        {"environment": {"api": "stock_market", "state": {}}},
        tc("buy", {}),
        "error",
        "bad_reference",
        "unknown mock API",
    ),
]


# -- tool_call@2 -----------------------------------------------------------------------------------
WEATHER_ENV = W["environment"]
N = {"tools": TOOLS, "expected_calls": []}
ADD = tc("add", {"a": 2, "b": 3})


def obj(props, **extra):
    return {"type": "object", "properties": props, **extra}


def fn(name, params):
    return {"type": "function", "function": {"name": name, "parameters": params}}


OPEN_TOOLS = [
    fn("tag", obj({"id": {"type": "integer"}}, required=["id"], additionalProperties=True)),
    fn("label", obj({"id": {"type": "integer"}}, additionalProperties={"type": "string"})),
    fn("meta", obj({"id": {}}, patternProperties={"^x-": {"type": "string"}})),
    fn("ping", {"type": "object"}),
    fn("nested", obj({"opts": obj({"a": {"type": "integer"}})})),
    fn(
        "combo",
        obj({"b": {}}, allOf=[{"$ref": "#/$defs/base"}], **{"$defs": {"base": obj({"a": {}})}}),
    ),
]
O = {"tools": OPEN_TOOLS, "expected_calls": [], "allow_extra_calls": True}
U = {
    "tools": TOOLS,
    "expected_calls": [
        {"name": "greet", "arguments": {"name": "Ada"}, "allowed": {"formal": [True, None]}}
    ],
}
UX = {
    "tools": TOOLS,
    "expected_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}],
    "allow_extra_calls": True,
}
INT = {"type": "integer"}
NULL_TOOLS = [
    fn(
        "power",
        obj(
            {"base": INT, "exponent": INT, "mod": {"type": ["number", "null"]}},
            required=["base", "exponent"],
        ),
    ),
    fn(
        "power_strict",
        obj(
            {"base": INT, "exponent": INT, "mod": {"type": ["number", "null"]}},
            required=["base", "exponent", "mod"],
            additionalProperties=False,
        ),
    ),
    fn(
        "power_plain",
        obj(
            {"base": INT, "exponent": INT, "mod": {"type": "number"}}, required=["base", "exponent"]
        ),
    ),
]


def pw(tool, allowed=None, **arguments):
    return {
        "tools": NULL_TOOLS,
        "expected_calls": [
            {
                "name": tool,
                "arguments": {"base": 3, "exponent": 5, **arguments},
                **({"allowed": allowed} if allowed else {}),
            }
        ],
    }


def pcall(tool, **mod):
    return tc(tool, {"base": 3, "exponent": 5, **mod})


rows_v2 = rows + [
    (
        N,
        "None of these tools can book a flight.",
        "pass",
        None,
        "no call expected: a plain-text answer passes",
    ),
    (
        N,
        '{"role": "assistant", "content": "No tool fits.", "tool_calls": []}',
        "pass",
        None,
        "no call expected: OpenAI message with an empty tool_calls list",
    ),
    (
        N,
        '{"role": "assistant", "content": null, "tool_calls": []}',
        "pass",
        None,
        "no call expected: empty tool_calls and no content",
    ),
    (
        N,
        "",
        "pass",
        None,
        "no call expected: an empty completion calls nothing (use answer_contains to require text)",
    ),
    (
        N,
        f"<think>maybe {ADD}?</think>No tool fits this request.",
        "pass",
        None,
        "no call expected: a call drafted inside <think> does not count",
    ),
    (N, ADD, "fail", "wrong_calls", "no call expected: a valid call fails"),
    (
        N,
        oai([("greet", {"name": "Ada"})], "Hello"),
        "fail",
        "wrong_calls",
        "no call expected: an OpenAI call with text fails",
    ),
    (
        N,
        tc("add", {"a": "2", "b": 3}),
        "fail",
        "invalid_arguments",
        "no call expected: a call that also breaks its schema",
    ),
    (
        N,
        tc("book_flight", {"to": "Oslo"}),
        "fail",
        "unknown_tool",
        "no call expected: a call of a tool that does not exist",
    ),
    (
        N,
        '<tool_call>{"name": "add", "arguments": {"a": 2,}}</tool_call>',
        "unparseable",
        "malformed_json",
        "no call expected: a malformed call is still unparseable",
    ),
    (
        N,
        '{"answer": "no tool fits"}',
        "unparseable",
        "bad_call_shape",
        "no call expected: JSON that is not a call is still unparseable",
    ),
    (
        {**N, "answer_contains": ["cannot"]},
        "I cannot do that with these tools.",
        "pass",
        None,
        "no call expected, answer_contains holds",
    ),
    (
        {**N, "answer_contains": ["cannot"]},
        "Sure!",
        "fail",
        "wrong_answer",
        "no call expected, answer lacks the required text",
    ),
    (
        {**N, "allow_extra_calls": True},
        "Nothing to do.",
        "pass",
        None,
        "[] with allow_extra_calls: calling nothing passes",
    ),
    (
        {**N, "allow_extra_calls": True},
        ADD,
        "pass",
        None,
        "[] with allow_extra_calls: any valid call passes",
    ),
    (
        {"environment": WEATHER_ENV, "expected_calls": []},
        "I only have forecasts, not flights.",
        "pass",
        None,
        "no call expected with an environment: nothing runs",
    ),
    (
        {"environment": WEATHER_ENV, "expected_calls": []},
        FC,
        "fail",
        "wrong_calls",
        "no call expected with an environment: a valid call fails",
    ),
    (
        {**B, "expected_calls": [], "allow_extra_calls": True},
        "Done.",
        "fail",
        "end_state_mismatch",
        "calls optional, but the expected end state needs a transfer",
    ),
    (
        {**B, "expected_calls": [], "allow_extra_calls": True},
        tc("transfer", T(2500, None)),
        "pass",
        None,
        "calls optional, the transfer gives the end state",
    ),
    (
        {"environment": WEATHER_ENV},
        "It will be cold.",
        "unparseable",
        "no_tool_call",
        "expected_calls absent is not 'no call expected': a call is still needed",
    ),
    (
        {"environment": WEATHER_ENV, "expected_calls": None},
        "It will be cold.",
        "unparseable",
        "no_tool_call",
        "expected_calls null is not 'no call expected' either",
    ),
    (
        {"tools": TOOLS, "expected_calls": None},
        "No tool fits.",
        "error",
        "bad_reference",
        "tools without expected_calls or environment: the message names []",
    ),
    (
        U,
        tc("greet", {"name": "Ada", "formal": True}),
        "fail",
        "invalid_arguments",
        "undeclared argument allowed by the answer still fails (@1 passed it; BFCL "
        "parallel_multiple_26)",
    ),
    (
        U,
        tc("greet", {"name": "Ada"}),
        "pass",
        None,
        "undeclared argument that may be left out, left out",
    ),
    (
        UX,
        ADD + tc("greet", {"name": "Ada", "nickname": "A"}),
        "fail",
        "invalid_arguments",
        "an allowed extra call with an invented parameter fails",
    ),
    (
        UX,
        ADD + tc("greet", {"name": "Ada"}),
        "pass",
        None,
        "an allowed extra call with declared arguments passes",
    ),
    (
        O,
        tc("tag", {"id": 1, "color": "red"}),
        "pass",
        None,
        "additionalProperties true allows other arguments",
    ),
    (
        O,
        tc("label", {"id": 1, "color": "red"}),
        "pass",
        None,
        "additionalProperties schema allows other arguments of its type",
    ),
    (
        O,
        tc("label", {"id": 1, "color": 3}),
        "fail",
        "invalid_arguments",
        "additionalProperties schema refuses another type",
    ),
    (
        O,
        tc("meta", {"id": 1, "x-trace": "t"}),
        "pass",
        None,
        "a name matching patternProperties is declared",
    ),
    (
        O,
        tc("meta", {"id": 1, "trace": "t"}),
        "fail",
        "invalid_arguments",
        "a name matching no pattern is undeclared",
    ),
    (O, tc("ping", {}), "pass", None, "a tool without properties takes no arguments"),
    (
        O,
        tc("ping", {"verbose": True}),
        "fail",
        "invalid_arguments",
        "an argument to a tool without properties is undeclared",
    ),
    (
        O,
        tc("nested", {"opts": {"a": 1, "b": 2}}),
        "pass",
        None,
        "nested objects follow their schema as written",
    ),
    (O, tc("combo", {"a": 1, "b": 2}), "pass", None, "a name declared in an allOf $ref subschema"),
    (
        O,
        tc("combo", {"a": 1, "c": 3}),
        "fail",
        "invalid_arguments",
        "a name declared nowhere in the combined schema",
    ),
    (
        {
            "tools": TOOLS,
            "expected_calls": [{"name": "greet", "arguments": {"name": "Ada", "formal": True}}],
        },
        tc("greet", {"name": "Ada", "formal": True}),
        "error",
        "bad_reference",
        "reference requires an undeclared argument: no call could match it under @2 (@1 passed "
        "this call)",
    ),
    (
        {
            "tools": TOOLS,
            "expected_calls": [
                {"name": "greet", "arguments": {"name": "Ada"}, "allowed": {"formal": [True]}}
            ],
        },
        tc("greet", {"name": "Ada"}),
        "error",
        "bad_reference",
        "reference allows only values of an undeclared argument",
    ),
    (
        {"tools": TOOLS, "expected_calls": [{"name": "greet_user", "arguments": {"name": "Ada"}}]},
        tc("greet", {"name": "Ada"}),
        "error",
        "bad_reference",
        "expected call names a tool that is not among the tools",
    ),
    (
        pw("power", {"mod": [None]}),
        pcall("power", mod=None),
        "pass",
        None,
        "null among allowed values matches null sent (@1: wrong_calls)",
    ),
    (
        pw("power", {"mod": [None]}),
        pcall("power"),
        "pass",
        None,
        "null among allowed values matches the argument left out",
    ),
    (
        pw("power", {"mod": [None]}),
        pcall("power", mod=7),
        "fail",
        "wrong_calls",
        "a value where only null is allowed",
    ),
    (
        pw("power_strict", {"mod": [None, 7]}),
        pcall("power_strict", mod=None),
        "pass",
        None,
        "OpenAI strict mode: optional argument sent as null",
    ),
    (
        pw("power_strict", {"mod": [None, 7]}),
        pcall("power_strict"),
        "fail",
        "invalid_arguments",
        "strict mode: the null argument is required by the schema",
    ),
    (
        pw("power_plain", {"mod": [None, 7]}),
        pcall("power_plain", mod=None),
        "fail",
        "invalid_arguments",
        "null sent where the schema does not accept null",
    ),
    (
        pw("power_plain", {"mod": [None, 7]}),
        pcall("power_plain", mod=7.0),
        "pass",
        None,
        "an allowed value next to null",
    ),
    (
        pw("power", mod=None),
        pcall("power", mod=None),
        "pass",
        None,
        "arguments {mod: null}: null sent",
    ),
    (
        pw("power", mod=None),
        pcall("power"),
        "fail",
        "wrong_calls",
        "arguments {mod: null} still requires null sent, not left out",
    ),
]


def write(spec: str, table: list) -> None:
    with open(
        __import__("pathlib").Path(__file__).resolve().parents[3]
        / "verifiers"
        / "golden"
        / f"{spec}.jsonl",
        "w",
    ) as fh:
        for ref, resp, status, code, note in table:
            row = {"reference": ref, "response": resp, "status": status, "note": note}
            if code:
                row["code"] = code
            if status == "pass":
                row["score"] = 1.0
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(spec, len(table))


def main() -> None:
    write("tool_call@1", rows)
    write("tool_call@2", rows_v2)


if __name__ == "__main__":
    main()
