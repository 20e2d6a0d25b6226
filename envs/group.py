"""Group sampling for GRPO: G completions of one prompt, graded independently in one batch call.

Two ways, same grading:

* :func:`grade_group` - one environment, one task, G completions graded in one
  :func:`verifiers.grade_batch` call (the cheap path for trainers);
* :func:`make_group` + :func:`reset_group` - a ``gymnasium.vector.SyncVectorEnv`` of G copies
  that share one grading executor and are reset onto the same task, for code written against
  the vector API.

>>> import gymnasium, envs
>>> env = gymnasium.make("rlvr/JsonSchema-v1")
>>> _ = env.reset(seed=3)
>>> result = grade_group(env, ['{}', 'not json'])
>>> len(result.rewards), result.verdicts[1].status.value
(2, 'unparseable')
>>> env.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import SyncVectorEnv

from verifiers import Executor, ProcessPoolExecutor, Verdict

from .core import VerifierEnv
from .errors import EnvConfigError


@dataclass(frozen=True)
class GroupResult:
    """Rewards and verdicts of G completions of one task, in completion order."""

    task_id: str
    rewards: tuple[float, ...]
    verdicts: tuple[Verdict, ...]

    @property
    def pass_rate(self) -> float:
        """Fraction of completions that passed."""
        return sum(v.passed for v in self.verdicts) / len(self.verdicts) if self.verdicts else 0.0


def grade_group(env: gym.Env, completions: Sequence[str]) -> GroupResult:
    """Grade G completions of ``env``'s current task in one batch call (the episode is not
    advanced)."""
    inner = env.unwrapped
    if not isinstance(inner, VerifierEnv):
        raise EnvConfigError(
            f"grade_group needs a single-turn VerifierEnv, got {type(inner).__name__}"
        )
    verdicts = inner.grade_many(list(completions))
    assert inner.task is not None
    return GroupResult(inner.task.id, tuple(v.score for v in verdicts), tuple(verdicts))


def make_group(
    env_id: str,
    group_size: int,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    **kwargs: Any,
) -> SyncVectorEnv:
    """A vector env of ``group_size`` copies of ``env_id`` sharing one grading executor.

    Without ``executor``, a :class:`verifiers.ProcessPoolExecutor` with ``workers`` processes
    (default ``group_size``) is created and closed with the vector env.
    """
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise EnvConfigError(f"group_size must be an int >= 1, got {group_size!r}")
    owned = executor is None
    if owned:
        executor = ProcessPoolExecutor(
            workers or group_size, timeout_s=kwargs.get("timeout_s", 30.0)
        )
    vec = _GroupVectorEnv([_factory(env_id, executor, kwargs) for _ in range(group_size)])
    vec.owned_executor = executor if owned else None
    return vec


def reset_group(
    vec: SyncVectorEnv, *, seed: int | None = None, task_id: str | None = None
) -> tuple[Any, dict]:
    """Reset every copy onto the same task: the one ``seed`` picks, or ``task_id``."""
    options = {"task_id": task_id} if task_id is not None else None
    if seed is None and task_id is None:  # a fresh random task, the same one for every copy
        seed = int(np.random.default_rng().integers(2**31 - 1))
    return vec.reset(seed=[seed] * vec.num_envs, options=options)


def _factory(env_id: str, executor: Executor, kwargs: dict[str, Any]):
    return lambda: gym.make(env_id, executor=executor, **kwargs)


class _GroupVectorEnv(SyncVectorEnv):
    """A SyncVectorEnv that also closes the executor its copies share."""

    owned_executor: Executor | None = None

    def close_extras(self, **kwargs: Any) -> None:
        super().close_extras(**kwargs)
        if self.owned_executor is not None:
            self.owned_executor.close()
            self.owned_executor = None
