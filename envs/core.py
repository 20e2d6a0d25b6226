"""Single-turn text environments over a verifier: prompt in, completion out, verdict as reward.

Contract of :class:`VerifierEnv`:

* ``reset(seed=, options=)`` picks a task deterministically (from ``seed``, or
  ``options={"task_id": ...}`` / ``{"task_index": ...}``) and returns the observation
  ``{"messages": [chat messages], "text": prompt as plain text (for base models)}``;
* ``step(completion)`` grades the completion with the pinned verifier through a bounded
  executor and returns ``(obs, reward, terminated=True, truncated=False, info)``; ``reward`` is
  the verdict score and ``info["verdict"]`` the full :class:`~verifiers.Verdict`.

The observation space is a ``Dict`` of :class:`~envs.spaces.ChatMessages` and
:class:`~envs.spaces.UnicodeText`; the action space is ``UnicodeText``. ``info`` is deterministic
for a given seed and action (``check_env`` compares it), so the verdict's ``elapsed_s`` is 0
unless ``record_elapsed=True``; grading time is always in ``env.unwrapped.last_grading_s``.

>>> from verifiers import InlineExecutor
>>> task = {"id": "a", "prompt": "Give an object.", "reference": {"schema": {"type": "object"}}}
>>> env = VerifierEnv([task], "json_schema@1", executor=InlineExecutor())
>>> obs, info = env.reset(seed=0)
>>> obs["text"], info["task_id"]
('Give an object.', 'a')
>>> _, reward, terminated, truncated, info = env.step('{"x": 1}')
>>> reward, terminated, truncated, info["verdict"].status.value
(1.0, True, False, 'pass')
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import gymnasium as gym

from verifiers import Executor, Verdict

from .errors import EnvConfigError, EnvStateError, TaskSourceError
from .grading import Grader
from .quarantine.gate import gate_tasks
from .spaces import UnicodeText, prompt_space
from .tasks import Columns, Task, TaskList, load_tasks


@dataclass(frozen=True)
class EnvConfig:
    """Settings shared by the text environments.

    >>> EnvConfig(verifier="math@1").max_completion_chars
    65536
    """

    verifier: str
    """Pinned verifier ``name@version`` (changing it is a new environment version)."""
    system_prompt: str | None = None
    """System message put before every prompt (``None`` for none)."""
    max_prompt_chars: int = 1_000_000
    """Longest observation text (the observation space's bound)."""
    max_completion_chars: int = 65536
    """Longest action in the action space; longer completions are still graded."""
    timeout_s: float = 30.0
    """Per-completion grading bound for the default executor."""
    record_elapsed: bool = False
    """Keep the verdict's ``elapsed_s`` in ``info`` (makes ``info`` non-deterministic)."""

    def __post_init__(self) -> None:
        for name in ("max_prompt_chars", "max_completion_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EnvConfigError(f"{name} must be a positive int, got {value!r}")
        if not (isinstance(self.timeout_s, (int, float)) and self.timeout_s > 0):
            raise EnvConfigError(f"timeout_s must be > 0 seconds, got {self.timeout_s!r}")
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise EnvConfigError(
                f"system_prompt must be text or None, got {type(self.system_prompt).__name__}"
            )


def render_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Plain-text form of a conversation for base models.

    A prompt of system/user messages is their contents joined by blank lines; a conversation with
    assistant or tool turns labels each message with its role.

    >>> render_text([{"role": "user", "content": "2+2?"}])
    '2+2?'
    """
    if all(m["role"] in ("system", "user") for m in messages):
        return "\n\n".join(m["content"] for m in messages)
    parts = []
    for message in messages:
        label = message["role"].capitalize()
        if message["role"] == "tool":
            label = f"Tool ({message.get('name', '')})"
        content = message.get("content") or ""
        calls = message.get("tool_calls") or []
        call_text = "\n".join(
            f"<tool_call>{c['function']['name']} {c['function']['arguments']}</tool_call>"
            for c in calls
        )
        parts.append(f"{label}: {content}{chr(10) if content and call_text else ''}{call_text}")
    return "\n\n".join(parts)


def copy_json(value: Any) -> Any:
    """Deep copy of JSON-like data (dicts, lists, scalars), several times cheaper than
    ``copy.deepcopy``.

    Anything else (tuples, custom objects) goes through ``copy.deepcopy``, so the result never
    shares a mutable object with ``value``.

    >>> msgs = [{"role": "user", "content": "hi"}]
    >>> copy_json(msgs) == msgs and copy_json(msgs)[0] is not msgs[0]
    True
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if kind is list:
        return [copy_json(v) for v in value]
    return copy.deepcopy(value)


class TaskEnv(gym.Env):
    """Shared machinery: task source, deterministic task choice, grader, spaces, rendering."""

    # fps is meaningless for text; set to silence check_env
    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        tasks: Any,
        config: EnvConfig,
        *,
        columns: Columns | None = None,
        executor: Executor | None = None,
        render_mode: str | None = None,
        quarantine: Any = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvConfigError(
                f"render_mode {render_mode!r} is not supported; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        self.config = config
        self.tasks: TaskList = load_tasks(tasks, columns=columns)
        self.tasks, self.quarantine_report = gate_tasks(self.tasks, quarantine)
        self.grader = Grader(config.verifier, executor=executor, timeout_s=config.timeout_s)
        self.render_mode = render_mode
        self.observation_space = prompt_space(config.max_prompt_chars)
        self.action_space = UnicodeText(config.max_completion_chars)
        self.task: Task | None = None
        self.task_index = -1
        self.messages: list[dict[str, Any]] = []
        self.last_grading_s = 0.0

    def _choose(self, options: Mapping[str, Any] | None) -> int:
        options = options or {}
        if "task_id" in options:
            return self.tasks.index_of(str(options["task_id"]))
        if "task_index" in options:
            index = options["task_index"]
            if (
                isinstance(index, bool)
                or not isinstance(index, int)
                or not 0 <= index < len(self.tasks)
            ):
                raise TaskSourceError(
                    f"task_index must be an int in [0, {len(self.tasks)}), got {index!r}"
                )
            return index
        return int(self.np_random.integers(len(self.tasks)))

    def _start(self, seed: int | None, options: Mapping[str, Any] | None) -> None:
        super().reset(seed=seed)
        self.task_index = self._choose(options)
        self.task = self.tasks[self.task_index]
        self.messages = self.task.messages(self.config.system_prompt)

    def _observation(self) -> dict[str, Any]:
        return {"messages": copy_json(self.messages), "text": render_text(self.messages)}

    def _task_info(self) -> dict[str, Any]:
        assert self.task is not None
        return {"task_id": self.task.id, "task_index": self.task_index}

    def _grade(self, response: str) -> Verdict:
        assert self.task is not None
        start = time.perf_counter()
        verdict = self.grader.grade(response, self.task.reference)
        self.last_grading_s = time.perf_counter() - start
        return verdict if self.config.record_elapsed else verdict.replace(elapsed_s=0.0)

    @staticmethod
    def _check_action(action: Any) -> str:
        if not isinstance(action, str):
            raise EnvConfigError(
                f"action must be the completion text (str), got {type(action).__name__}"
            )
        return action

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return render_text(self.messages) if self.messages else ""
        return None

    def close(self) -> None:
        self.grader.close()
        super().close()


class VerifierEnv(TaskEnv):
    """Single-turn environment: one completion per episode, graded by the pinned verifier.

    Args:
        tasks: a task source (see :func:`envs.tasks.load_tasks`).
        verifier: pinned ``name@version``.
        columns: column mapping for the task source.
        executor: grading executor to share (default: one owned process worker).
        render_mode: ``"ansi"`` or ``None``.
        system_prompt, max_prompt_chars, max_completion_chars, timeout_s, record_elapsed:
            see :class:`EnvConfig`.
        quarantine: a :class:`~envs.quarantine.QuarantineGate` (or an isolation-list folder,
            refusing): tasks matching isolated evaluation items are refused or dropped; the report
            is kept on ``env.quarantine_report``.
    """

    def __init__(
        self,
        tasks: Any,
        verifier: str,
        *,
        columns: Columns | None = None,
        executor: Executor | None = None,
        render_mode: str | None = None,
        system_prompt: str | None = None,
        max_prompt_chars: int = 1_000_000,
        max_completion_chars: int = 65536,
        timeout_s: float = 30.0,
        record_elapsed: bool = False,
        quarantine: Any = None,
    ) -> None:
        config = EnvConfig(
            verifier,
            system_prompt,
            max_prompt_chars,
            max_completion_chars,
            timeout_s,
            record_elapsed,
        )
        super().__init__(
            tasks,
            config,
            columns=columns,
            executor=executor,
            render_mode=render_mode,
            quarantine=quarantine,
        )
        self._done = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        self._start(seed, options)
        self._done = False
        return self._observation(), self._task_info()

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise EnvStateError(
                "call reset() before step(): a single-turn episode ends after one step"
            )
        completion = self._check_action(action)
        verdict = self._grade(completion)
        self.messages.append({"role": "assistant", "content": completion})
        self._done = True
        info = {
            **self._task_info(),
            "verdict": verdict,
            "reward_components": {"verifier": verdict.score},
        }
        return self._observation(), verdict.score, True, False, info

    def grade_many(self, completions: Sequence[str]) -> list[Verdict]:
        """Grade several completions of the current task in one batch call (GRPO groups).

        Does not advance the episode; raises :class:`EnvStateError` before the first ``reset``.
        """
        if self.task is None:
            raise EnvStateError("call reset() before grade_many(): there is no current task")
        verdicts = self.grader.grade_many(
            [self._check_action(c) for c in completions], self.task.reference
        )
        return (
            verdicts if self.config.record_elapsed else [v.replace(elapsed_s=0.0) for v in verdicts]
        )
