"""The single-turn contract of VerifierEnv: reset, step, info, bounded grading, misuse errors."""

from __future__ import annotations

import gymnasium
import pytest

import envs
from envs import EnvConfigError, EnvStateError, TaskSourceError, VerifierEnv
from verifiers import InlineExecutor, ProcessPoolExecutor

TASKS = [{"id": f"t{i}", "prompt": f"Say {i}", "reference": {"answer": str(i)}} for i in range(5)]


@pytest.fixture
def echo_env(echo_verifier):
    env = VerifierEnv(TASKS, "test_echo@1", system_prompt="Be brief.", timeout_s=2.0)
    yield env
    env.close()


def test_reset_returns_messages_and_text(echo_env):
    obs, info = echo_env.reset(seed=0)
    task = echo_env.task
    assert obs["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": task.prompt},
    ]
    assert obs["text"] == f"Be brief.\n\n{task.prompt}"
    assert info == {"task_id": task.id, "task_index": echo_env.task_index}
    assert obs in echo_env.observation_space


def test_step_grades_and_terminates(echo_env):
    echo_env.reset(options={"task_id": "t3"})
    obs, reward, terminated, truncated, info = echo_env.step("3")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["verdict"].passed and info["verdict"].spec == "test_echo@1"
    assert info["reward_components"] == {"verifier": 1.0}
    assert obs["messages"][-1] == {"role": "assistant", "content": "3"}
    echo_env.reset(options={"task_index": 3})
    _, reward, *_, info = echo_env.step("4")
    assert reward == 0.0 and info["verdict"].failure_reason.code == "wrong_answer"


def test_hanging_completion_is_a_timeout_verdict_not_a_hang(echo_env):
    echo_env.reset(seed=1)
    _, reward, terminated, _, info = echo_env.step("HANG")
    assert (reward, terminated, info["verdict"].status.value) == (0.0, True, "timeout")
    echo_env.reset(seed=1)  # the env keeps working after a killed worker
    assert echo_env.step(echo_env.task.reference["answer"])[1] == 1.0


def test_crashing_verifier_is_an_error_verdict(echo_env):
    echo_env.reset(seed=2)
    assert echo_env.step("CRASH")[4]["verdict"].failure_reason.code == "worker_crashed"


def test_info_is_deterministic_unless_elapsed_is_recorded(echo_verifier):
    env = VerifierEnv(TASKS, "test_echo@1", executor=InlineExecutor())
    env.reset(seed=0)
    assert env.step("0")[4]["verdict"].elapsed_s == 0.0
    assert env.last_grading_s > 0.0
    timed = VerifierEnv(TASKS, "test_echo@1", executor=InlineExecutor(), record_elapsed=True)
    timed.reset(options={"task_id": "t0"})
    assert timed.step("0")[4]["verdict"].elapsed_s > 0.0


def test_grade_many_grades_a_group_in_one_call(echo_env):
    echo_env.reset(options={"task_id": "t1"})
    verdicts = echo_env.grade_many(["1", "2", "1", "HANG"])
    assert [v.status.value for v in verdicts] == ["pass", "fail", "pass", "timeout"]


def test_shared_executor_is_not_closed_by_the_env(echo_verifier):
    with ProcessPoolExecutor(1, timeout_s=5) as pool:
        for _ in range(2):
            env = VerifierEnv(TASKS, "test_echo@1", executor=pool)
            env.reset(options={"task_id": "t2"})
            assert env.step("2")[1] == 1.0
            env.close()


def test_step_before_reset_and_twice_raises(echo_env):
    with pytest.raises(EnvStateError, match="call reset"):
        echo_env.step("1")
    echo_env.reset(seed=0)
    echo_env.step("x")
    with pytest.raises(EnvStateError, match="ends after one step"):
        echo_env.step("x")


def test_non_text_action_raises(echo_env):
    echo_env.reset(seed=0)
    with pytest.raises(EnvConfigError, match="action must be the completion text"):
        echo_env.step(42)


def test_unknown_task_id_and_index_raise(echo_env):
    with pytest.raises(TaskSourceError, match="no task with id 'zz'"):
        echo_env.reset(options={"task_id": "zz"})
    with pytest.raises(TaskSourceError, match=r"task_index must be an int in \[0, 5\)"):
        echo_env.reset(options={"task_index": 9})


def test_unpinned_or_unknown_verifier_raises():
    with pytest.raises(EnvConfigError, match="must pin a version, e.g. 'math@1'"):
        VerifierEnv(TASKS, "math")
    with pytest.raises(EnvConfigError, match="pins verifier nope@1, which is not available"):
        VerifierEnv(TASKS, "nope@1")


def test_config_validation_names_the_value():
    with pytest.raises(EnvConfigError, match="timeout_s must be > 0 seconds, got -1"):
        envs.EnvConfig("math@1", timeout_s=-1)
    with pytest.raises(EnvConfigError, match="render_mode 'human' is not supported"):
        VerifierEnv(TASKS, "math@1", render_mode="human")


def test_ansi_render_shows_the_conversation():
    env = gymnasium.make("rlvr/Math-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step("\\boxed{1}")
    text = env.render()
    assert text.startswith("User: ") and text.endswith("Assistant: \\boxed{1}")
    env.close()


def test_unicode_completion_is_a_valid_action():
    env = gymnasium.make("rlvr/Math-v0")
    assert "Ответ: \\boxed{½} 🙂 <think>…</think>" in env.action_space
    env.close()
