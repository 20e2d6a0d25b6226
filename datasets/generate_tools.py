"""Generate the bundled tool-use set: tasks against the mock APIs with expected end states.

Each reference (for ``tool_call@1``) names a mock API and its initial state, the calls that must
be made (order-free, with allowed alternatives where several values are right), the expected end
state and, for questions, text the final answer must contain. The same reference grades one
completion (single-turn) and a whole ``rlvr/ToolCall-v0`` episode. ``solution`` makes every
required call in one message, in a format that rotates over ``<tool_call>`` blocks, an OpenAI
message and bare JSON; the expected outcome is computed by running it on the mock API.

    python datasets/generate_tools.py [--seed 0] [--count 200] [--out datasets/tools]
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable

from envs.bundled import generator_main
from verifiers.tool_call import ToolCall, make_api

VERSION = 1
PEOPLE = [
    "ada@example.org",
    "bruno@example.org",
    "chiara@example.org",
    "hiro@example.org",
    "ines@example.org",
]
TITLES = [
    "Design review",
    "1:1",
    "Budget sync",
    "Hiring panel",
    "Release planning",
    "Customer call",
]
CITIES = ["Lisbon", "Osaka", "Nairobi", "Montréal", "Kraków", "Tromsø"]
CONDITIONS = ["sunny", "cloudy", "rain", "snow", "windy"]
ACCOUNTS = ["checking", "savings", "travel", "emergency"]

Built = tuple[str, dict[str, Any], list[ToolCall], str]
"""(prompt, reference without end state, calls of the reference solution, final answer text)."""


def date(rng: random.Random) -> str:
    return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def busy_day(rng: random.Random, day: str) -> list[dict[str, Any]]:
    events, hour = [], 9
    for number in range(rng.randint(1, 3)):
        hour += rng.randint(0, 2)
        length = rng.choice([30, 60, 90])
        start, end = hour * 60, hour * 60 + length
        if end > 16 * 60:
            break
        events.append(
            {
                "id": f"evt-{number + 1}",
                "title": rng.choice(TITLES),
                "date": day,
                "start": f"{start // 60:02d}:{start % 60:02d}",
                "end": f"{end // 60:02d}:{end % 60:02d}",
                "attendees": [],
            }
        )
        hour = end // 60 + (1 if end % 60 else 0)
    return events


def calendar_state(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"events": events, "next_id": len(events) + 1}


def book_earliest(rng: random.Random) -> Built:
    day, title, minutes = date(rng), rng.choice(TITLES), rng.choice([30, 45, 60])
    guests = sorted(rng.sample(PEOPLE, 2))
    state = calendar_state(busy_day(rng, day))
    slot = make_api("calendar", state).call(
        "find_free_slot", {"date": day, "duration_minutes": minutes}
    )[1]
    prompt = (
        f'Book a {minutes}-minute meeting titled "{title}" with {guests[0]} and {guests[1]} on '
        f'{day}, '
        "at the earliest free time that day (working hours 09:00-17:00)."
    )
    create = {"title": title, "date": day, "start": slot["start"], "end": slot["end"]}
    reference = {
        "environment": {"api": "calendar", "state": state},
        "allow_extra_calls": True,
        "expected_calls": [
            {
                "name": "create_event",
                "arguments": create,
                "allowed": {"attendees": [guests, guests[::-1]]},
            }
        ],
    }
    calls = [
        ToolCall("find_free_slot", {"date": day, "duration_minutes": minutes}),
        ToolCall("create_event", {**create, "attendees": guests}),
    ]
    return (
        prompt,
        reference,
        calls,
        f"Booked {title} on {day} from {slot['start']} to {slot['end']}.",
    )


def create_at(rng: random.Random) -> Built:
    day, title = date(rng), rng.choice(TITLES)
    start = rng.randint(9, 15)
    arguments = {
        "title": title,
        "date": day,
        "start": f"{start:02d}:00",
        "end": f"{start + 1:02d}:30",
    }
    prompt = (
        f'Add "{title}" to my calendar on {day} from {arguments["start"]} to {arguments["end"]}.'
    )
    reference = {
        "environment": {"api": "calendar", "state": calendar_state([])},
        "expected_calls": [
            {"name": "create_event", "arguments": arguments, "allowed": {"attendees": [None, []]}}
        ],
    }
    return prompt, reference, [ToolCall("create_event", arguments)], "Done."


def cancel(rng: random.Random) -> Built:
    day = date(rng)
    events = busy_day(rng, day)
    victim = rng.choice(events)
    prompt = f'Cancel my "{victim["title"]}" event on {day} that starts at {victim["start"]}.'
    reference = {
        "environment": {"api": "calendar", "state": calendar_state(events)},
        "allow_extra_calls": True,
        "expected_calls": [{"name": "cancel_event", "arguments": {"event_id": victim["id"]}}],
    }
    return prompt, reference, [ToolCall("cancel_event", {"event_id": victim["id"]})], "Cancelled."


def bank_state(rng: random.Random) -> dict[str, Any]:
    return {
        "accounts": {name: {"balance_cents": rng.randint(50, 5000) * 100} for name in ACCOUNTS},
        "ledger": [],
    }


def transfer(rng: random.Random) -> Built:
    state = bank_state(rng)
    source, target = rng.sample(ACCOUNTS, 2)
    amount = rng.randint(1, state["accounts"][source]["balance_cents"] // 100) * 100
    prompt = f"Move ${amount // 100} from my {source} account to my {target} account."
    arguments = {"from_account": source, "to_account": target, "amount_cents": amount}
    reference = {
        "environment": {"api": "bank", "state": state},
        "allow_extra_calls": True,
        "expected_calls": [{"name": "transfer", "arguments": arguments}],
    }
    return prompt, reference, [ToolCall("transfer", arguments)], "Transferred."


def deposit_and_report(rng: random.Random) -> Built:
    state = bank_state(rng)
    account, cents = rng.choice(ACCOUNTS), rng.randint(100, 99999)
    new_balance = state["accounts"][account]["balance_cents"] + cents
    prompt = (
        f"Deposit ${cents / 100:.2f} into my {account} account, then tell me the new balance "
        "in dollars with two decimals."
    )
    arguments = {"account": account, "amount_cents": cents}
    reference = {
        "environment": {"api": "bank", "state": state},
        "allow_extra_calls": True,
        "expected_calls": [{"name": "deposit", "arguments": arguments}],
        "answer_contains": [f"{new_balance / 100:.2f}"],
    }
    return (
        prompt,
        reference,
        [ToolCall("deposit", arguments)],
        f"Your new balance is ${new_balance / 100:.2f}.",
    )


def forecast(rng: random.Random) -> Built:
    forecasts = {
        city: {
            date(rng): {"high_c": rng.randint(-15, 38), "condition": rng.choice(CONDITIONS)}
            for _ in range(2)
        }
        for city in rng.sample(CITIES, 3)
    }
    city = rng.choice(sorted(forecasts))
    day = rng.choice(sorted(forecasts[city]))
    high = forecasts[city][day]["high_c"]
    prompt = f"What is the forecast high temperature in {city} on {day}, in °C?"
    arguments = {"city": city, "date": day}
    reference = {
        "environment": {"api": "weather", "state": {"forecasts": forecasts}},
        "allow_extra_calls": True,
        "expected_calls": [{"name": "get_forecast", "arguments": arguments}],
        "answer_contains": [f"{high}"],
    }
    return (
        prompt,
        reference,
        [ToolCall("get_forecast", arguments)],
        f"The forecast high is {high} °C.",
    )


def write_note(rng: random.Random) -> Built:
    path = f"notes/{rng.choice(['todo', 'ideas', 'groceries', 'trip'])}-{rng.randint(1, 99)}.txt"
    content = ", ".join(
        rng.sample(["milk", "call mum", "book flights", "fix bike", "water plants", "pay rent"], 3)
    )
    prompt = f"Save a file at {path} whose content is exactly: {content}"
    reference = {
        "environment": {"api": "files", "state": {"files": {"README.md": "hello"}}},
        "expected_calls": [{"name": "write_file", "arguments": {"path": path, "content": content}}],
    }
    return prompt, reference, [ToolCall("write_file", {"path": path, "content": content})], "Saved."


def rename(rng: random.Random) -> Built:
    old = f"drafts/report-{rng.randint(1, 50)}.md"
    new = old.replace("drafts/", "final/")
    content = f"# Report\n\nRevenue grew {rng.randint(2, 40)}%."
    prompt = f"Rename the file {old} to {new} (keep its content)."
    reference = {
        "environment": {"api": "files", "state": {"files": {old: content, "README.md": "hello"}}},
        "allow_extra_calls": True,
        "expected_calls": [
            {"name": "write_file", "arguments": {"path": new, "content": content}},
            {"name": "delete_file", "arguments": {"path": old}},
        ],
    }
    calls = [
        ToolCall("read_file", {"path": old}),
        ToolCall("write_file", {"path": new, "content": content}),
        ToolCall("delete_file", {"path": old}),
    ]
    return prompt, reference, calls, "Renamed."


TEMPLATES: dict[str, Callable[[random.Random], Built]] = {
    "book_earliest": book_earliest,
    "cancel": cancel,
    "create_at": create_at,
    "deposit_and_report": deposit_and_report,
    "forecast": forecast,
    "rename": rename,
    "transfer": transfer,
    "write_note": write_note,
}


def render(calls: list[ToolCall], answer: str, fmt: str) -> str:
    """One completion making ``calls``: ``<tool_call>`` blocks, an OpenAI message, or bare JSON."""
    if fmt == "hermes":
        blocks = "\n".join(
            "<tool_call>"
            f"{json.dumps({'name': c.name, 'arguments': c.arguments}, ensure_ascii=False)}"
            "</tool_call>"
            for c in calls
        )
        return f"{blocks}\n{answer}"
    if fmt == "openai":
        numbered = [ToolCall(c.name, c.arguments, f"call_{i}") for i, c in enumerate(calls)]
        return json.dumps(
            {
                "role": "assistant",
                "content": answer,
                "tool_calls": [c.to_openai() for c in numbered],
            },
            ensure_ascii=False,
        )
    return json.dumps(
        [{"name": c.name, "arguments": c.arguments} for c in calls], ensure_ascii=False
    )


def end_state(reference: dict[str, Any], calls: list[ToolCall]) -> dict[str, Any]:
    api = make_api(reference["environment"]["api"], reference["environment"]["state"])
    for call in calls:
        status, payload = api.call(call.name, call.arguments)
        if not 200 <= status < 300:
            raise AssertionError(f"reference solution call {call} failed: {status} {payload}")
    return api.snapshot()


def generate(seed: int, count: int) -> list[dict]:
    """``count`` rows, deterministic in ``seed``."""
    rng = random.Random(seed)
    names = sorted(TEMPLATES)
    rows = []
    for index in range(count):
        template = names[index % len(names)]
        prompt, reference, calls, answer = TEMPLATES[template](rng)
        if reference["environment"]["api"] != "weather":
            reference["expected_state"] = end_state(reference, calls)
        fmt = ["hermes", "openai", "json"][index % 3]
        if reference.get("answer_contains") and fmt == "json":
            fmt = "hermes"
        rows.append(
            {
                "id": f"tools-{index:04d}",
                "prompt": prompt,
                "reference": reference,
                "solution": render(calls, answer, fmt),
                "meta": {
                    "template": template,
                    "api": reference["environment"]["api"],
                    "format": fmt,
                    "final_answer": answer,
                },
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    return generator_main(
        generate,
        name="tools",
        filename="tool_tasks.jsonl",
        count=200,
        version=VERSION,
        doc=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
