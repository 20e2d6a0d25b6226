"""Writes tests/verifiers/golden/tool_call@1.jsonl (run: .venv/bin/python tests/verifiers/tool_call/make_tool_call_golden.py).

The table is data; this script only keeps it readable and reviewable. Regenerating must not change
any expected status: a change that flips one needs tool_call@2.
"""
import json
W = {"environment": {"api": "weather", "state": {"forecasts": {"Oslo": {"2026-01-05": {"high_c": -3, "condition": "snow"}}}}},
     "expected_calls": [{"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}],
     "answer_contains": ["-3"]}
FC = '{"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}'
TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"], "additionalProperties": False}}},
         {"type": "function", "function": {"name": "greet", "parameters": {"type": "object", "properties": {"name": {"type": "string"}, "lang": {"type": "string", "enum": ["en", "fr", "de"]}}, "required": ["name"]}}}]
P = {"tools": TOOLS, "expected_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}},
                                        {"name": "greet", "arguments": {"name": "Ada"}, "allowed": {"lang": ["en", "fr", None]}}]}
CAL_STATE = {"events": [{"id": "evt-1", "title": "Standup", "date": "2026-03-02", "start": "09:00", "end": "09:30", "attendees": []}], "next_id": 2}
CREATE = {"title": "Sync", "date": "2026-03-02", "start": "10:00", "end": "10:30"}
C = {"environment": {"api": "calendar", "state": CAL_STATE},
     "expected_calls": [{"name": "create_event", "arguments": CREATE, "allowed": {"attendees": [None, []]}}],
     "expected_state": {"events": [{"title": "Standup"}, {"title": "Sync", "start": "10:00", "end": "10:30"}]}}
CX = {"environment": {"api": "calendar", "state": CAL_STATE}, "allow_extra_calls": True,
      "expected_calls": [{"name": "create_event", "arguments": CREATE, "allowed": {"attendees": [None, []]}}]}
B = {"environment": {"api": "bank", "state": {"accounts": {"checking": {"balance_cents": 10000}, "savings": {"balance_cents": 500}}}},
     "expected_state": {"accounts": {"checking": {"balance_cents": 7500}, "savings": {"balance_cents": 3000}}}}
def tc(name, args): return f'<tool_call>{json.dumps({"name": name, "arguments": args})}</tool_call>'
def oai(calls, content=None): return json.dumps({"role": "assistant", "content": content, "tool_calls": [{"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}} for i, (n, a) in enumerate(calls)]})
T = lambda a, b: {"from_account": "checking", "to_account": "savings", "amount_cents": a} if b is None else b
rows = [
 (W, f"{tc('get_forecast', {'city': 'Oslo', 'date': '2026-01-05'})}\nIt will be -3 °C.", "pass", None, "hermes block plus final answer"),
 (W, oai([("get_forecast", {"city": "Oslo", "date": "2026-01-05"})], "High of -3 C"), "pass", None, "OpenAI message with JSON-string arguments"),
 (W, FC, "fail", "wrong_answer", "bare call object has no answer text, answer_contains fails"),
 (W, f"{tc('get_forecast', {'city': 'Oslo', 'date': '2026-01-05'})}\nIt will be cold.", "fail", "wrong_answer", "answer lacks the expected value"),
 (W, '<tool_call>{"name": "get_forecast", "arguments": {"city": "Oslo",}}</tool_call>', "unparseable", "malformed_json", "trailing comma inside a tool_call block"),
 (W, '<tool_call>{"name": "get_forecast", "arguments": {}}', "unparseable", "malformed_json", "unclosed tool_call block"),
 (W, '{"tool_calls": [{"function": {"name": "get_forecast", "arguments": "{city: Oslo}"}}]}', "unparseable", "malformed_json", "OpenAI arguments string is not JSON"),
 (W, '{"name": "get_forecast", "arguments": {"city": "Oslo"', "unparseable", "malformed_json", "truncated bare JSON"),
 (W, "The high in Oslo will be -3 C.", "unparseable", "no_tool_call", "plain text, no call"),
 (W, '{"role": "assistant", "content": "-3", "tool_calls": []}', "unparseable", "no_tool_call", "OpenAI message with an empty tool_calls list"),
 (W, '{"city": "Oslo"}', "unparseable", "bad_call_shape", "JSON object that is not a call"),
 (W, '{"name": "get_forecast", "arguments": ["Oslo"]}', "unparseable", "bad_call_shape", "arguments is a list"),
 (W, '[1, 2]', "unparseable", "bad_call_shape", "list of non-objects"),
 (W, "[" * 5000 + "]" * 5000, "unparseable", "too_deep", "JSON nested beyond the parser's recursion limit"),
 (W, tc("get_weather", {"city": "Oslo", "date": "2026-01-05"}) + " -3", "fail", "unknown_tool", "tool name not in the API"),
 (W, tc("get_forecast", {"city": "Oslo", "date": 20260105}) + " -3", "fail", "invalid_arguments", "argument of the wrong type"),
 (W, tc("get_forecast", {"city": "Oslo"}) + " -3", "fail", "invalid_arguments", "missing required argument"),
 (W, tc("get_forecast", {"city": "Oslo", "date": "2026-01-05", "units": "C"}) + " -3", "fail", "invalid_arguments", "extra argument rejected by additionalProperties"),
 (W, tc("get_forecast", {"city": "Oslo", "date": "5 Jan 2026"}) + " -3", "fail", "invalid_arguments", "argument breaks the schema pattern"),
 (W, tc("get_forecast", {"city": "Bergen", "date": "2026-01-05"}) + " -3", "fail", "wrong_calls", "valid call with the wrong argument value"),
 (W, tc("get_forecast", {"city": "Oslo", "date": "2026-01-05"}) * 2 + " -3", "fail", "wrong_calls", "duplicate call where extra calls are not allowed"),
 (P, '```json\n[{"name": "add", "arguments": {"a": 2, "b": 3}}, {"name": "greet", "arguments": {"name": "Ada"}}]\n```', "pass", None, "fenced bare JSON list, optional argument omitted"),
 (P, '[{"name": "greet", "arguments": {"name": "Ada", "lang": "fr"}}, {"name": "add", "arguments": {"b": 3, "a": 2}}]', "pass", None, "parallel calls in the other order, allowed value"),
 (P, '[{"name": "greet", "arguments": {"name": "Ada", "lang": "de"}}, {"name": "add", "arguments": {"a": 2, "b": 3}}]', "fail", "wrong_calls", "argument value outside the allowed list"),
 (P, '[{"name": "add", "arguments": {"a": 2, "b": 3}}]', "fail", "wrong_calls", "one of two parallel calls missing"),
 (P, '[{"name": "add", "arguments": {"a": 2.0, "b": 3}}, {"name": "greet", "arguments": {"name": "Ada"}}]', "pass", None, "2.0 equals 2 (JSON number semantics)"),
 (P, '[{"name": "add", "arguments": {"a": true, "b": 3}}, {"name": "greet", "arguments": {"name": "Ada"}}]', "fail", "invalid_arguments", "boolean is not an integer"),
 (P, '{"function": {"name": "add", "arguments": "{\\"a\\": 2, \\"b\\": 3}"}}', "fail", "wrong_calls", "single OpenAI call object, second expected call missing"),
 (P, '[{"name": "add", "parameters": {"a": 2, "b": 3}}, {"name": "greet", "parameters": {"name": "Ada"}}]', "pass", None, "'parameters' accepted as the arguments key"),
 (C, tc("create_event", CREATE), "pass", None, "create succeeds, end state holds, attendees omitted"),
 (C, oai([("create_event", {**CREATE, "attendees": []})]), "pass", None, "explicit empty attendees is an allowed value"),
 (C, tc("create_event", {**CREATE, "start": "09:15", "end": "09:45"}), "fail", "wrong_calls", "wrong time"),
 (CX, tc("list_events", {"date": "2026-03-02"}) + tc("create_event", CREATE), "pass", None, "extra read-only call allowed"),
 (CX, tc("create_event", {**CREATE, "start": "10:00", "end": "10:30"}) + tc("create_event", {**CREATE, "title": "Dup"}), "pass", None, "an allowed extra call that fails (409 overlap) is not required, so it does not fail the verdict"),
 (B, tc("transfer", T(2500, None)), "pass", None, "executable check only: transfer gives the end state"),
 (B, tc("transfer", T(2000, None)), "fail", "end_state_mismatch", "wrong amount leaves the wrong end state"),
 (B, tc("transfer", T(20000, None)), "fail", "call_failed", "insufficient funds: 422"),
 (B, tc("transfer", {"from_account": "checking", "to_account": "brokerage", "amount_cents": 2500}), "fail", "call_failed", "unknown account: 404"),
 (B, tc("deposit", {"account": "savings", "amount_cents": 2500}) + tc("transfer", T(2500, None)), "fail", "end_state_mismatch", "extra deposit changes the end state"),
 ({"tools": TOOLS}, tc("add", {"a": 1, "b": 2}), "error", "bad_reference", "reference without expected calls or environment"),
 ({"environment": {"api": "stock_market", "state": {}}}, tc("buy", {}), "error", "bad_reference", "unknown mock API"),
]


def main() -> None:
    with open(__import__("pathlib").Path(__file__).resolve().parents[1] / "golden" / "tool_call@1.jsonl", "w") as fh:
        for ref, resp, status, code, note in rows:
            row = {"reference": ref, "response": resp, "status": status, "note": note}
            if code: row["code"] = code
            if status == "pass": row["score"] = 1.0
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(len(rows))


if __name__ == "__main__":
    main()
