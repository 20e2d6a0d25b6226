"""Group sampling for GRPO and gymnasium.vector support."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import envs
from envs import EnvConfigError, grade_group, make_group, reset_group


def test_make_vec_sync_steps_every_copy():
    vec = gymnasium.make_vec("rlvr/Math-v0", num_envs=3, vectorization_mode="sync")
    try:
        obs, info = vec.reset(seed=11)
        assert len(obs["text"]) == 3 and len(obs["messages"]) == 3
        solutions = tuple(env.unwrapped.task.solution for env in vec.envs)
        obs, rewards, terminated, truncated, info = vec.step(solutions)
        assert rewards.tolist() == [1.0, 1.0, 1.0] and terminated.all() and not truncated.any()
        assert [v.status.value for v in info["verdict"]] == ["pass"] * 3
    finally:
        vec.close()


def test_group_copies_share_the_task_and_grade_independently():
    group = make_group("rlvr/JsonSchema-v0", 4)
    try:
        obs, info = reset_group(group, seed=5)
        assert len(set(info["task_id"])) == 1 and len(set(obs["text"])) == 1
        solution = group.envs[0].unwrapped.task.solution
        _, rewards, terminated, _, info = group.step((solution, "not json", solution, "{}"))
        assert rewards.tolist() == [1.0, 0.0, 1.0, 0.0]
        assert [v.status.value for v in info["verdict"]] == ["pass", "unparseable", "pass", "fail"]
        executors = {id(env.unwrapped.grader.executor) for env in group.envs}
        assert len(executors) == 1
        _, info = reset_group(group, task_id="json-0007")
        assert set(info["task_id"]) == {"json-0007"}
    finally:
        group.close()


def test_grade_group_uses_one_batch_call():
    env = gymnasium.make("rlvr/Math-v0")
    try:
        env.reset(seed=4)
        solution = env.unwrapped.task.solution
        result = grade_group(env, [solution, "no answer", solution.replace("boxed{", "boxed{9")])
        assert result.rewards == (1.0, 0.0, 0.0)
        assert result.task_id == env.unwrapped.task.id and result.pass_rate == pytest.approx(1 / 3)
        # grading a group does not end the episode
        assert env.step(solution)[1] == 1.0
    finally:
        env.close()


def test_grade_group_needs_a_single_turn_env():
    env = gymnasium.make("rlvr/ToolCall-v0")
    with pytest.raises(EnvConfigError, match="needs a single-turn VerifierEnv, got ToolCallEnv"):
        grade_group(env, ["x"])
    env.close()


def test_group_size_is_validated():
    with pytest.raises(EnvConfigError, match="group_size must be an int >= 1, got 0"):
        make_group("rlvr/Math-v0", 0)


def test_vector_autoreset_starts_a_new_task():
    vec = gymnasium.make_vec("rlvr/ToolCallSingle-v0", num_envs=2, vectorization_mode="sync")
    try:
        vec.reset(seed=0)
        vec.step(("x", "y"))
        obs, rewards, *_ = vec.step(("x", "y"))  # NEXT_STEP autoreset: this step resets
        assert np.all(rewards == 0.0) and all(isinstance(t, str) for t in obs["text"])
    finally:
        vec.close()


@pytest.mark.slow
def test_make_vec_async_with_non_daemonic_workers():
    vec = gymnasium.make_vec(
        "rlvr/JsonSchema-v0",
        num_envs=2,
        vectorization_mode="async",
        vector_kwargs={"daemon": False, "shared_memory": False},
    )
    try:
        _, info = vec.reset(options={"task_id": "json-0003"})
        solution = envs.load_tasks("bundled:json")[3].solution
        _, rewards, terminated, *_ = vec.step((solution, "[]"))
        assert rewards.tolist() == [1.0, 0.0] and terminated.all()
    finally:
        vec.close()


# gymnasium logs the worker's traceback as warnings
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_async_default_daemonic_workers_get_an_error_that_says_the_fix():
    vec = gymnasium.make_vec(
        "rlvr/JsonSchema-v0",
        num_envs=1,
        vectorization_mode="async",
        vector_kwargs={"shared_memory": False},
    )
    try:
        vec.reset(seed=0)
        with pytest.raises(
            EnvConfigError, match="vector_kwargs=\\{'daemon': False, 'shared_memory': False\\}"
        ):
            vec.step(("{}",))
    finally:
        vec.close(terminate=True)


def test_reset_group_without_a_seed_still_shares_one_task():
    group = make_group("rlvr/Math-v0", 3, timeout_s=10)
    try:
        _, info = reset_group(group)
        assert len(set(info["task_id"])) == 1
    finally:
        group.close()
        group.close()  # closing twice is allowed
