"""The trainer's quarantine gate with environments that cannot apply it, and the default list."""

from __future__ import annotations

import gymnasium
import pytest
from rl_test_envs import ParityEnv

import envs
from envs.quarantine import IsolationList
from rl.config import GRPOConfig
from rl.errors import ConfigError
from rl.trainer import GRPOTrainer

TASKS = [
    {"id": "clean", "prompt": "1=", "reference": {"answer": "7"}},
    {"id": "leaked", "prompt": "2=", "reference": {"answer": "7"}},
]


@pytest.fixture
def isolation(tmp_path):
    iso = IsolationList(tmp_path / "iso")
    iso.add([{"id": "eval-2", "prompt": "2=", "reference": {"answer": "7"}}], name="digits_eval")
    return iso


@pytest.fixture(scope="module", autouse=True)
def registered():
    envs.register_env("rlvrtest/GateDigit-v0", verifier="math@1", tasks=TASKS, replace=True)
    gymnasium.register("rlvrtest/NoGate-v0", entry_point=ParityEnv)  # takes no quarantine=
    yield
    del gymnasium.registry["rlvrtest/NoGate-v0"]


def _cfg(model, out, **kw):
    return GRPOConfig(
        **{
            **dict(
                model=model,
                group_size=2,
                prompts_per_step=1,
                max_new_tokens=1,
                steps=0,
                output_dir=str(out),
                progress=False,
                tensorboard=False,
                grading_workers=0,
            ),
            **kw,
        }
    )


def test_the_default_list_gates_training_and_off_disables_it(
    tiny_model_path, tmp_path, isolation, monkeypatch
):
    monkeypatch.setenv("RLVR_QUARANTINE_DIR", str(isolation.folder))
    with pytest.raises(ConfigError, match=r"leaked ~ digits_eval:eval-2 \[prompt, exact"):
        GRPOTrainer(_cfg(tiny_model_path, tmp_path / "a", env="rlvrtest/GateDigit-v0"))
    trainer = GRPOTrainer(
        _cfg(tiny_model_path, tmp_path / "b", env="rlvrtest/GateDigit-v0", quarantine="off")
    )
    assert len(trainer.runner.envs[0].unwrapped.tasks) == 2
    trainer.close()


def test_an_environment_without_the_gate_warns_under_auto_and_fails_when_a_list_is_named(
    tiny_model_path, tmp_path, isolation, monkeypatch
):
    monkeypatch.setenv("RLVR_QUARANTINE_DIR", str(isolation.folder))
    with pytest.warns(RuntimeWarning, match="does not take quarantine="):
        GRPOTrainer(_cfg(tiny_model_path, tmp_path / "a", env="rlvrtest/NoGate-v0")).close()
    with pytest.raises(ConfigError, match="does not take quarantine=.*rlvr quarantine check"):
        GRPOTrainer(
            _cfg(
                tiny_model_path,
                tmp_path / "b",
                env="rlvrtest/NoGate-v0",
                quarantine=str(isolation.folder),
            )
        )


def test_a_named_folder_without_sets_is_an_error(tiny_model_path, tmp_path):
    with pytest.raises(ConfigError, match="holds no isolation list"):
        GRPOTrainer(
            _cfg(
                tiny_model_path,
                tmp_path,
                env="rlvrtest/GateDigit-v0",
                quarantine=str(tmp_path / "none"),
            )
        )
    with pytest.raises(ConfigError, match="on_contamination"):
        _cfg(tiny_model_path, tmp_path, on_contamination="ignore")
