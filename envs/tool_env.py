"""``rlvr/ToolCall-v1`` (and ``-v0``): a multi-turn environment where the assistant calls tools of a
mock API.

* Observation: the conversation so far (system, user, assistant, tool messages in OpenAI chat
  format) plus its plain-text form, as in :class:`~envs.core.VerifierEnv`.
* Action: the next assistant message: text with tool calls in any format
  :func:`verifiers.tool_call.parse_tool_calls` reads, or an OpenAI message dict with ``tool_calls``.
* The environment validates each call against its tool's schema (with the pinned verifier's
  rules: under ``tool_call@2`` an undeclared argument is refused), executes it against the task's
  mock API (pure Python, never model code) and appends a ``tool`` message whose content is
  ``{"status": <code>, "payload": ...}``. An unreadable call gets a user message saying why.
* The episode ends when the assistant answers without a tool call (``terminated``) or after
  ``max_turns`` assistant messages (``truncated``). The final reward is the task verifier's verdict
  on the episode: the successful calls in order plus the final answer, re-executed from the
  initial state, so the end state and expected calls are checked exactly as in single-turn
  grading. Per-turn statuses are in ``info["turns"]``; intermediate rewards are 0.

>>> from verifiers import InlineExecutor
>>> forecasts = {"Oslo": {"2026-01-05": {"high_c": -3}}}
>>> call = {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}
>>> task = {"id": "w", "prompt": "High in Oslo on 2026-01-05?", "reference": {
...     "environment": {"api": "weather", "state": {"forecasts": forecasts}},
...     "expected_calls": [call],
...     "answer_contains": ["-3"]}}
>>> env = ToolCallEnv([task], executor=InlineExecutor())
>>> _ = env.reset(seed=0)
>>> obs, r, done, trunc, info = env.step('<tool_call>{"name": "get_forecast", '
...     '"arguments": {"city": "Oslo", "date": "2026-01-05"}}</tool_call>')
>>> obs["messages"][-1]["role"], info["turns"][-1]["calls"][0]["status"], done
('tool', 200, False)
>>> obs, r, done, trunc, info = env.step("It will be -3 C.")
>>> r, done, info["verdict"].status.value
(1.0, True, 'pass')
"""

from __future__ import annotations

import copy
import json
from typing import Any, Mapping

import verifiers
from verifiers import Executor
from verifiers.tool_call import (
    MockAPI,
    ParsedMessage,
    ToolCall,
    ToolCallParseError,
    call_problem,
    make_api,
    parse_json_message,
    parse_tool_calls,
    tool_schemas,
)

from .core import EnvConfig, TaskEnv
from .errors import EnvConfigError, EnvStateError, TaskSourceError
from .tasks import Columns

DEFAULT_SYSTEM_PROMPT = (
    "You can call these tools (OpenAI function-calling definitions):\n{tools}\n\n"
    "To call tools, reply with one or more blocks "
    '<tool_call>{{"name": "<tool>", "arguments": {{...}}}}</tool_call>. '
    "Each result comes back as a tool message with a status code and a payload. "
    "When the task is done, reply with your final answer and no tool call."
)


class ToolCallEnv(TaskEnv):
    """Multi-turn tool-use environment over tasks whose reference names a mock API ``environment``.

    Args:
        tasks: task source; each reference needs ``environment: {api, state}``.
        verifier: pinned verifier for the final grade (``tool_call@2``; ``rlvr/ToolCall-v0`` pins
            ``tool_call@1``).
        max_turns: assistant messages allowed before the episode is truncated (>= 1).
        strict_no_call: on a task that expects no call (``expected_calls: []``), grade every call
            the assistant tried, failed ones included (the default; ``rlvr/ToolCall-v0`` turns it
            off); otherwise only calls that succeeded reach the final grade, so a failed call then a
            plain answer would read as "no call".
        system_prompt: template with ``{tools}`` (the tools as JSON); default
            :data:`DEFAULT_SYSTEM_PROMPT`.
        Other arguments: as :class:`~envs.core.VerifierEnv`.
    """

    def __init__(
        self,
        tasks: Any,
        verifier: str = "tool_call@2",
        *,
        columns: Columns | None = None,
        executor: Executor | None = None,
        render_mode: str | None = None,
        max_turns: int = 8,
        system_prompt: str | None = None,
        max_prompt_chars: int = 1_000_000,
        max_completion_chars: int = 65536,
        timeout_s: float = 30.0,
        record_elapsed: bool = False,
        strict_no_call: bool = True,
        quarantine: Any = None,
    ) -> None:
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
            raise EnvConfigError(f"max_turns must be an int >= 1, got {max_turns!r}")
        template = DEFAULT_SYSTEM_PROMPT if system_prompt is None else system_prompt
        if "{tools}" not in template:
            raise EnvConfigError(
                "system_prompt must contain '{tools}' where the tool definitions go"
            )
        config = EnvConfig(
            verifier, template, max_prompt_chars, max_completion_chars, timeout_s, record_elapsed
        )
        super().__init__(
            tasks,
            config,
            columns=columns,
            executor=executor,
            render_mode=render_mode,
            quarantine=quarantine,
        )
        self.max_turns = max_turns
        self.strict_no_call = strict_no_call
        # each turn refuses what the final grade refuses: undeclared arguments under tool_call@2
        self._declared_only = bool(
            getattr(
                getattr(verifiers.get(verifier), "rules", None), "declared_arguments_only", False
            )
        )
        self.api: MockAPI | None = None
        self.tools: list[dict[str, Any]] = []
        self._schemas: dict[str, Any] = {}
        self._successful: list[ToolCall] = []
        self._attempted: list[ToolCall] = []
        self._turns: list[dict[str, Any]] = []
        self._done = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self.task_index = self._choose(options)
        self.task = self.tasks[self.task_index]
        environment = self.task.reference.get("environment")
        if not isinstance(environment, Mapping):
            raise TaskSourceError(
                f"task {self.task.id!r} has no reference 'environment' {{api, state}}; "
                "ToolCallEnv needs a mock API to run calls against"
            )
        self.api = make_api(environment.get("api"), environment.get("state"))
        self.tools = self.task.reference.get("tools") or self.api.tool_definitions()
        self._schemas = tool_schemas(self.task.reference)
        system = self.config.system_prompt.format(tools=json.dumps(self.tools, ensure_ascii=False))
        self.messages = self.task.messages(system)
        self._successful, self._attempted, self._turns, self._done = [], [], [], False
        return self._observation(), {**self._task_info(), "tools": copy.deepcopy(self.tools)}

    def step(
        self, action: str | Mapping[str, Any]
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise EnvStateError("call reset() before step(): the episode has ended")
        text, parsed, error = self._parse(action)
        turn: dict[str, Any] = {"turn": len(self._turns), "calls": [], "parse_error": None}
        if error is not None:
            self.messages.append({"role": "assistant", "content": text})
            self.messages.append(
                {
                    "role": "user",
                    "content": "Your tool call could not be read "
                    f"({error.code}): {error.message}. Reply with valid tool calls or a final "
                    "answer.",
                }
            )
            turn["parse_error"] = error.code
        elif not parsed.calls:
            self.messages.append({"role": "assistant", "content": parsed.content})
            self._turns.append(turn)
            return self._finish(parsed.content, terminated=True)
        else:
            turn["calls"] = self._run_calls(parsed)
        self._turns.append(turn)
        if len(self._turns) >= self.max_turns:
            return self._finish("", terminated=False)
        info = {**self._task_info(), "turns": copy.deepcopy(self._turns)}
        return self._observation(), 0.0, False, False, info

    def _parse(self, action: Any) -> tuple[str, ParsedMessage | None, ToolCallParseError | None]:
        try:
            if isinstance(action, Mapping):
                return (
                    json.dumps(action, ensure_ascii=False),
                    parse_json_message(dict(action)),
                    None,
                )
            text = self._check_action(action)
            if len(text) > self.config.max_completion_chars:
                raise ToolCallParseError(
                    "too_long",
                    f"the message has {len(text)} characters; the limit is "
                    f"{self.config.max_completion_chars}",
                )
            return text, parse_tool_calls(text), None
        except ToolCallParseError as exc:
            return (
                (action if isinstance(action, str) else json.dumps(action, default=str)),
                None,
                exc,
            )

    def _run_calls(self, parsed: ParsedMessage) -> list[dict[str, Any]]:
        assert self.api is not None
        number = len(self._turns)
        calls = [
            ToolCall(c.name, c.arguments, f"call_{number}_{i}") for i, c in enumerate(parsed.calls)
        ]
        self.messages.append(
            {
                "role": "assistant",
                "content": parsed.content or None,
                "tool_calls": [c.to_openai() for c in calls],
            }
        )
        statuses = []
        self._attempted.extend(calls)
        for call in calls:
            problem = call_problem(call, self._schemas, declared_only=self._declared_only)
            status, payload = (
                (404 if problem[0] == "unknown_tool" else 400, {"error": problem[1]})
                if problem
                else self.api.call(call.name, call.arguments)
            )
            if 200 <= status < 300:
                self._successful.append(call)
            self.messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "name": call.name,
                    "content": json.dumps(
                        {"status": status, "payload": payload}, ensure_ascii=False
                    ),
                }
            )
            statuses.append({"name": call.name, "status": status})
        return statuses

    def _counts_every_call(self) -> bool:
        return self.strict_no_call and self.task.reference.get("expected_calls") == []

    def _finish(
        self, answer: str, *, terminated: bool
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        self._done = True
        graded = self._attempted if self._counts_every_call() else self._successful
        transcript = json.dumps(
            {"role": "assistant", "content": answer, "tool_calls": [c.to_openai() for c in graded]},
            ensure_ascii=False,
        )
        verdict = self._grade(transcript)
        info = {
            **self._task_info(),
            "turns": copy.deepcopy(self._turns),
            "verdict": verdict,
            "reward_components": {"verifier": verdict.score},
        }
        return self._observation(), verdict.score, terminated, not terminated, info
