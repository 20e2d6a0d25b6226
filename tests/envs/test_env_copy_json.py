"""``envs.core.copy_json``: the observation copy is deep (no shared mutable object) and equal to
deepcopy's."""

import copy

import pytest

from envs.core import copy_json

CASES = [
    [{"role": "user", "content": "1="}],
    [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "f", "arguments": "{\"a\": [1, 2]}"}}],
        }
    ],
    {"nested": {"list": [1, 2.5, True, None, {"x": "y"}]}, "tuple": (1, [2])},
    [],
]


@pytest.mark.parametrize("value", CASES)
def test_copy_json_equals_deepcopy_and_shares_no_mutable_object(value):
    out = copy_json(value)
    assert out == copy.deepcopy(value)

    def mutables(x, acc):
        if isinstance(x, (dict, list)):
            acc.append(id(x))
            for v in x.values() if isinstance(x, dict) else x:
                mutables(v, acc)
        elif isinstance(x, tuple):
            for v in x:
                mutables(v, acc)
        return acc

    assert not set(mutables(out, [])) & set(mutables(value, []))


def test_mutating_a_returned_observation_does_not_change_the_env():
    from verifiers import InlineExecutor

    from envs.core import VerifierEnv

    env = VerifierEnv(
        [{"id": "a", "prompt": "1=", "reference": {"answer": "1"}}],
        "math@1",
        executor=InlineExecutor(),
    )
    obs, _ = env.reset(seed=0)
    obs["messages"][0]["content"] = "changed"
    obs["messages"].append({"role": "user", "content": "more"})
    assert env.messages == [{"role": "user", "content": "1="}]
    after, *_ = env.step("1")
    assert after["messages"] == [
        {"role": "user", "content": "1="},
        {"role": "assistant", "content": "1"},
    ]
    after["messages"][1]["content"] = "changed"
    assert env.messages[1]["content"] == "1"
