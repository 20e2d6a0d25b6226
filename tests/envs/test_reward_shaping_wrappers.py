"""Reward-shaping wrappers: format reward, DAPO overlong penalty, weighted verifiers."""

from __future__ import annotations

import gymnasium
import pytest

from envs import (
    CombinedReward,
    EnvConfigError,
    FormatReward,
    OverlongPenalty,
    VerifierEnv,
    overlong_penalty,
)
from verifiers import InlineExecutor

TASK = [{"id": "t", "prompt": "2+2? Answer as JSON and boxed.", "reference": {"answer": "4"}}]
OBJECT = {"json_schema@1": lambda task: {"schema": {"type": "object", "required": ["answer"]}}}


def math_env():
    return VerifierEnv(TASK, "math@1", executor=InlineExecutor())


@pytest.mark.parametrize(
    "length, expected", [(0, 0.0), (80, 0.0), (90, -0.5), (100, -1.0), (150, -1.0)]
)
def test_dapo_overlong_penalty(length, expected):
    assert overlong_penalty(length, max_length=100, buffer=20) == pytest.approx(expected)


def test_overlong_wrapper_adds_the_penalty_and_records_it():
    env = OverlongPenalty(math_env(), max_length=40, buffer=20)
    env.reset(seed=0)
    completion = "x" * 20 + " \\boxed{4}"  # 30 chars: halfway down the ramp
    _, reward, *_, info = env.step(completion)
    assert reward == pytest.approx(1.0 - 0.5)
    assert info["reward_components"] == {"verifier": 1.0, "overlong": pytest.approx(-0.5)}
    assert info["completion_length"] == 30


def test_overlong_wrapper_counts_tokens_with_a_user_tokenizer():
    env = OverlongPenalty(
        math_env(), max_length=4, buffer=2, length_fn=lambda text: len(text.split())
    )
    env.reset(seed=0)
    assert env.step("so it is \\boxed{4}")[1] == pytest.approx(0.0)  # 4 "tokens": penalty -1


def test_format_reward_add_gate_and_penalty_modes():
    good, bad = "<think>2+2</think> <answer>\\boxed{4}</answer>", "\\boxed{4}"
    for mode, expected_good, expected_bad in [
        ("add", 1.1, 1.0),
        ("gate", 1.0, 0.0),
        ("penalty", 1.0, 0.9),
    ]:
        env = FormatReward(math_env(), mode=mode, weight=0.1)
        env.reset(seed=0)
        _, reward, *_, info = env.step(good)
        assert reward == pytest.approx(expected_good) and info["reward_components"]["format"] == 1.0
        env.reset(seed=0)
        _, reward, *_, info = env.step(bad)
        assert reward == pytest.approx(expected_bad) and info["reward_components"]["format"] == 0.0


def test_format_reward_custom_pattern_and_validation():
    env = FormatReward(math_env(), pattern=r"Answer: .*", weight=0.5)
    env.reset(seed=0)
    assert env.step("Answer: \\boxed{4}")[1] == pytest.approx(1.5)
    with pytest.raises(EnvConfigError, match="mode 'bonus' is unknown"):
        FormatReward(math_env(), mode="bonus")


def test_combined_reward_weights_each_verifier_and_records_them():
    env = CombinedReward(math_env(), {"math@1": 0.75, "json_schema@1": 0.25}, references=OBJECT)
    env.reset(seed=0)
    _, reward, *_, info = env.step('```json\n{"answer": 4}\n```\nso \\boxed{4}')
    assert info["reward_components"] == {"verifier": 1.0, "math@1": 1.0, "json_schema@1": 1.0}
    assert [v.status.value for v in info["verdicts"].values()] == ["pass", "pass"]
    assert reward == pytest.approx(1.0)
    env.reset(seed=0)
    _, reward, *_, info = env.step('```json\n{"answer": 4}\n```\nso \\boxed{5}')
    assert info["reward_components"]["math@1"] == 0.0 and reward == pytest.approx(0.25)


def test_combined_reward_with_a_reference_per_verifier():
    env = CombinedReward(
        math_env(),
        {"math@1": 0.5, "json_schema@1": 0.5},
        references={"json_schema@1": lambda task: {"schema": {"type": "array"}}},
    )
    env.reset(seed=0)
    _, reward, *_, info = env.step('{"a": 1} \\boxed{4}')
    assert info["verdicts"]["json_schema@1"].status.value in ("fail", "unparseable")
    assert reward == pytest.approx(0.5)


def test_combined_reward_validation():
    with pytest.raises(EnvConfigError, match="must pin a version"):
        CombinedReward(math_env(), {"math": 1.0})
    with pytest.raises(EnvConfigError, match="references given for verifiers without a weight"):
        CombinedReward(math_env(), {"math@1": 1.0}, references={"json_schema@1": lambda t: {}})
    with pytest.raises(EnvConfigError, match="need 0 < buffer <= max_length"):
        OverlongPenalty(math_env(), max_length=10, buffer=20)


def test_wrappers_stack_on_a_registered_env():
    env = OverlongPenalty(
        FormatReward(gymnasium.make("rlvr/Math-v0")), max_length=10_000, buffer=100
    )
    env.reset(seed=1)
    solution = env.unwrapped.task.solution
    _, reward, *_, info = env.step(solution)
    assert set(info["reward_components"]) == {"verifier", "format", "overlong"}
    assert reward == pytest.approx(1.0)  # right answer, no think/answer tags, short
    env.close()


def test_format_check_with_tags_agrees_with_its_regex_and_is_linear():
    import random

    from envs.wrappers import FormatReward, _tags_fill

    tags = ("think", "answer")
    regex = FormatReward.build_pattern(tags)
    pieces = ["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "x", "<"]
    rng = random.Random(7)
    samples = [""] + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) for _ in range(20000)
    ]
    samples += [
        "<think>a</think>\n<answer>4</answer>\n",
        "<think></think><answer></answer>",
        "<think>a</think><think>b</think><answer>c</answer>",
        "<answer>4</answer>",
    ]
    assert [_tags_fill(s, tags) for s in samples] == [
        regex.fullmatch(s) is not None for s in samples
    ]
    assert sum(_tags_fill(s, tags) for s in samples) > 10  # the sample has matches, not only misses
    # a degenerate, repetitive completion: quadratic for the lazy regex (~25 s), instant here
    assert not _tags_fill("<think>" + "</think><answer></answer>x" * 16000, tags)
