"""Users register their own environment with one call naming a verifier and a task source."""

from __future__ import annotations

import gymnasium
import pytest

import envs
from envs import EnvConfigError, register_env
from envs.cli import add_commands, run_envs


@pytest.fixture
def cleanup():
    ids = []
    yield ids
    for env_id in ids:
        gymnasium.registry.pop(env_id, None)


def test_register_with_a_hugging_face_dataset(cleanup):
    import datasets

    dataset = datasets.Dataset.from_list(
        [{"q": f"What is {i}+{i}?", "gold": {"answer": str(2 * i)}, "n": i} for i in range(4)]
    )
    register_env(
        "mylab/Doubling-v0",
        verifier="math@1",
        tasks=dataset,
        columns=envs.Columns(id="n", prompt="q", reference="gold"),
        system_prompt="Think.",
    )
    cleanup.append("mylab/Doubling-v0")
    env = gymnasium.make("mylab/Doubling-v0")
    env.reset(options={"task_id": "3"})
    _, reward, terminated, _, info = env.step("\\boxed{6}")
    assert (reward, terminated, info["verdict"].spec) == (1.0, True, "math@1")
    assert env.unwrapped.messages[0] == {"role": "system", "content": "Think."}
    env.close()


def test_register_a_multi_turn_tool_env_from_a_jsonl_file(cleanup):
    path = envs.bundled_path("tools")
    register_env(
        "mylab/Tools-v0",
        verifier="tool_call@1",
        tasks=str(path),
        kind="multi_turn_tools",
        max_turns=3,
    )
    cleanup.append("mylab/Tools-v0")
    env = gymnasium.make("mylab/Tools-v0")
    assert env.unwrapped.max_turns == 3 and len(env.unwrapped.tasks) == 200
    env.close()


def test_registration_errors_say_the_fix(cleanup):
    rows = [{"id": "a", "prompt": "p", "reference": {"answer": "1"}}]
    with pytest.raises(EnvConfigError, match="must pin a version, e.g. 'math@1'"):
        register_env("mylab/X-v0", verifier="math", tasks=rows)
    with pytest.raises(EnvConfigError, match="unknown environment kind 'chat'"):
        register_env("mylab/X-v0", verifier="math@1", tasks=rows, kind="chat")
    register_env("mylab/X-v0", verifier="math@1", tasks=rows)
    cleanup.append("mylab/X-v0")
    with pytest.raises(
        EnvConfigError, match=r"mylab/X-v0 is already registered; bump its version \(-vN\)"
    ):
        register_env("mylab/X-v0", verifier="math@1", tasks=rows)
    register_env("mylab/X-v0", verifier="math@1", tasks=rows, replace=True)


def test_a_new_verifier_pin_is_a_new_env_version(cleanup):
    rows = [{"id": "a", "prompt": "p", "reference": {"answer": "1"}}]
    register_env("mylab/Pin-v0", verifier="math@1", tasks=rows)
    register_env("mylab/Pin-v1", verifier="json_schema@1", tasks=rows)
    cleanup.extend(["mylab/Pin-v0", "mylab/Pin-v1"])
    assert gymnasium.spec("mylab/Pin-v0").kwargs["verifier"] == "math@1"
    assert gymnasium.spec("mylab/Pin-v1").kwargs["verifier"] == "json_schema@1"


def test_cli_lists_the_builtin_envs(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    assert run_envs(parser.parse_args(["envs"])) == 0
    out = capsys.readouterr().out
    for env_id, (verifier, *_rest) in envs.BUILTIN_ENVS.items():
        assert env_id in out and verifier in out


def test_public_api_is_listed_and_importable():
    import verifiers.tool_call as tool_call

    for module in (envs, tool_call):
        assert module.__all__ == sorted(module.__all__)
        assert all(hasattr(module, name) for name in module.__all__)


def test_envs_imports_nothing_from_rl():
    import subprocess
    import sys

    code = (
        "import envs, sys; "
        "print(sorted(m for m in sys.modules if m == 'rl' or m.startswith('rl.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_register_with_a_generator_of_tasks_can_be_made_twice(cleanup):
    rows = (
        {"id": f"g{i}", "prompt": f"JSON with n={i}", "reference": {"schema": {"required": ["n"]}}}
        for i in range(3)
    )
    register_env("mylab/FromGenerator-v0", verifier="json_schema@1", tasks=rows)
    cleanup.append("mylab/FromGenerator-v0")
    first, second = (
        gymnasium.make("mylab/FromGenerator-v0"),
        gymnasium.make("mylab/FromGenerator-v0"),
    )
    assert first.reset(seed=5)[0] == second.reset(seed=5)[0]
    assert first.step('{"n": 1}')[1] == 1.0
    first.close()
    second.close()
