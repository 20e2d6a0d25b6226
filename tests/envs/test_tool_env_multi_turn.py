"""rlvr/ToolCall-v0: a conversation of tool calls against a mock API, graded at the end."""

from __future__ import annotations

import json

import gymnasium
import pytest

import envs
from envs import EnvConfigError, EnvStateError, TaskSourceError, ToolCallEnv
from verifiers import InlineExecutor

DAY = "2026-03-02"
MEETING = {
    "id": "book",
    "prompt": f'Book a 30-minute "Design review" with ada@example.org on {DAY}, earliest free '
    'slot.',
    "reference": {
        "environment": {
            "api": "calendar",
            "state": {
                "events": [
                    {
                        "id": "evt-1",
                        "title": "Standup",
                        "date": DAY,
                        "start": "09:00",
                        "end": "09:45",
                        "attendees": [],
                    }
                ],
                "next_id": 2,
            },
        },
        "allow_extra_calls": True,
        "expected_calls": [
            {
                "name": "create_event",
                "arguments": {
                    "title": "Design review",
                    "date": DAY,
                    "start": "09:45",
                    "end": "10:15",
                    "attendees": ["ada@example.org"],
                },
            }
        ],
        "expected_state": {
            "events": [{"title": "Standup"}, {"title": "Design review", "start": "09:45"}]
        },
    },
}


def call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@pytest.fixture
def env():
    environment = ToolCallEnv([MEETING], executor=InlineExecutor(), max_turns=4)
    yield environment
    environment.close()


def test_books_a_meeting_through_two_tool_calls(env):
    obs, info = env.reset(seed=0)
    assert [m["role"] for m in obs["messages"]] == ["system", "user"]
    assert {t["function"]["name"] for t in info["tools"]} >= {"find_free_slot", "create_event"}

    obs, reward, terminated, truncated, info = env.step(
        call("find_free_slot", date=DAY, duration_minutes=30)
    )
    tool_message = obs["messages"][-1]
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert tool_message["role"] == "tool" and tool_message["name"] == "find_free_slot"
    result = json.loads(tool_message["content"])
    assert result == {"status": 200, "payload": {"date": DAY, "start": "09:45", "end": "10:15"}}

    payload = result["payload"]
    obs, reward, terminated, truncated, info = env.step(
        call(
            "create_event",
            title="Design review",
            date=DAY,
            start=payload["start"],
            end=payload["end"],
            attendees=["ada@example.org"],
        )
    )
    assert json.loads(obs["messages"][-1]["content"])["status"] == 201 and not terminated

    obs, reward, terminated, truncated, info = env.step("Booked Design review at 09:45.")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["verdict"].passed and info["verdict"].details["statuses"] == [200, 201]
    assert [[c["status"] for c in turn["calls"]] for turn in info["turns"]] == [[200], [201], []]
    assert [m["role"] for m in obs["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert obs in env.observation_space


def test_failed_call_is_reported_and_can_be_retried(env):
    env.reset(seed=0)
    obs, *_, info = env.step(
        call(
            "create_event",
            title="Design review",
            date=DAY,
            start="09:30",
            end="10:00",
            attendees=["ada@example.org"],
        )
    )
    assert json.loads(obs["messages"][-1]["content"])["status"] == 409
    env.step(
        call(
            "create_event",
            title="Design review",
            date=DAY,
            start="09:45",
            end="10:15",
            attendees=["ada@example.org"],
        )
    )
    _, reward, terminated, _, info = env.step("done")
    assert reward == 1.0 and terminated
    assert [[c["status"] for c in t["calls"]] for t in info["turns"]] == [[409], [201], []]


def test_schema_violation_and_unknown_tool_get_4xx_tool_messages(env):
    env.reset(seed=0)
    obs, *_ = env.step(call("create_event", title="x") + call("teleport", to="Mars"))
    statuses = [json.loads(m["content"])["status"] for m in obs["messages"] if m["role"] == "tool"]
    assert statuses == [400, 404]


def test_unreadable_call_gets_a_user_message_and_counts_as_a_turn(env):
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step('<tool_call>{"name": </tool_call>')
    assert (
        obs["messages"][-1]["role"] == "user" and "malformed_json" in obs["messages"][-1]["content"]
    )
    assert info["turns"][0]["parse_error"] == "malformed_json" and not (terminated or truncated)


def test_turn_limit_truncates_and_grades(env):
    env.reset(seed=0)
    for _ in range(3):
        assert not env.step(call("list_events", date=DAY))[3]
    _, reward, terminated, truncated, info = env.step(call("list_events", date=DAY))
    assert (terminated, truncated) == (False, True)
    assert reward == 0.0 and info["verdict"].failure_reason.code == "wrong_calls"
    with pytest.raises(EnvStateError, match="the episode has ended"):
        env.step("more")


def test_answer_without_calls_is_graded_as_no_tool_call(env):
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("I booked it.")
    assert terminated and reward == 0.0 and info["verdict"].failure_reason.code == "no_tool_call"


def test_openai_message_dict_is_accepted_as_an_action(env):
    env.reset(seed=0)
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "x",
                "type": "function",
                "function": {
                    "name": "find_free_slot",
                    "arguments": json.dumps({"date": DAY, "duration_minutes": 30}),
                },
            }
        ],
    }
    obs, *_ = env.step(message)
    assert json.loads(obs["messages"][-1]["content"])["status"] == 200


def test_bundled_tasks_solve_in_two_steps():
    env = gymnasium.make("rlvr/ToolCall-v0")
    try:
        for index in range(0, 200, 17):
            env.reset(options={"task_index": index})
            task = env.unwrapped.task
            env.step(task.solution)
            _, reward, terminated, _, info = env.step(task.meta["final_answer"])
            assert reward == 1.0 and terminated, (task.id, info["verdict"])
    finally:
        env.close()


def test_misconfiguration_raises():
    with pytest.raises(EnvConfigError, match="max_turns must be an int >= 1, got 0"):
        ToolCallEnv([MEETING], max_turns=0)
    with pytest.raises(EnvConfigError, match="must contain '{tools}'"):
        ToolCallEnv([MEETING], system_prompt="no placeholder")
    bare = {"id": "b", "prompt": "x", "reference": {"expected_calls": [{"name": "f"}]}}
    env = ToolCallEnv([bare], executor=InlineExecutor())
    with pytest.raises(TaskSourceError, match="task 'b' has no reference 'environment'"):
        env.reset(seed=0)


def test_registered_multi_turn_id_is_a_tool_env():
    env = gymnasium.make("rlvr/ToolCall-v0")
    assert isinstance(env.unwrapped, envs.ToolCallEnv)
    env.close()


def test_hostile_messages_become_parse_errors(env):
    env.reset(seed=0)
    obs, *_, info = env.step("<tool_call>" + "[" * 20_000 + "</tool_call>")
    assert info["turns"][-1]["parse_error"] in ("too_deep", "malformed_json")
    obs, *_, info = env.step("x" * (env.config.max_completion_chars + 1))
    assert info["turns"][-1]["parse_error"] == "too_long"


NO_CALL_TASK = {
    "id": "chat",
    "prompt": "Tell me a joke about calendars.",
    "reference": {
        "environment": {"api": "calendar", "state": {"events": [], "next_id": 1}},
        "expected_calls": [],
    },
}


@pytest.mark.parametrize("strict, reward", [(True, 0.0), (False, 1.0)])
def test_a_failed_call_counts_on_a_no_call_task_only_when_strict(strict, reward):
    """ToolCall-v1 (strict): trying a tool where none is wanted is wrong even if the call failed."""
    env = ToolCallEnv(
        [NO_CALL_TASK], verifier="tool_call@2", executor=InlineExecutor(), strict_no_call=strict
    )
    try:
        env.reset(seed=0)
        # fails: arguments missing
        _, _, terminated, _, info = env.step(call("create_event", title="x"))
        assert not terminated and info["turns"][-1]["calls"][0]["status"] == 400
        _, got, terminated, _, info = env.step(
            "Why did the calendar look busy? Its days were numbered."
        )
        assert terminated and got == reward, info["verdict"]
    finally:
        env.close()


def test_no_call_task_passes_a_plain_answer_on_v1():
    env = ToolCallEnv(
        [NO_CALL_TASK], verifier="tool_call@2", executor=InlineExecutor(), strict_no_call=True
    )
    try:
        env.reset(seed=0)
        _, reward, terminated, _, info = env.step(
            "Why did the calendar look busy? Its days were numbered."
        )
        assert (reward, terminated) == (1.0, True) and info["verdict"].spec == "tool_call@2"
    finally:
        env.close()


@pytest.mark.parametrize(
    "verifier, refused_by_schema", [("tool_call@2", True), ("tool_call@1", False)]
)
def test_each_turn_refuses_what_the_pinned_version_refuses(verifier, refused_by_schema):
    """Under tool_call@2 an undeclared argument is refused by the schema check, as the final grade
    refuses it."""
    env = ToolCallEnv([MEETING], verifier=verifier, executor=InlineExecutor(), max_turns=4)
    try:
        env.reset(seed=0)
        obs, _, _, _, _ = env.step(
            call("find_free_slot", date=DAY, duration_minutes=30, colour="red")
        )
        error = json.loads(obs["messages"][-1]["content"])["payload"]["error"]
        assert ("is not an argument of find_free_slot" in error) == refused_by_schema, error
    finally:
        env.close()
