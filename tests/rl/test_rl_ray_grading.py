"""The trainer grading on a Ray cluster (``grading_executor="ray"``): the same rewards as local
grading."""

from __future__ import annotations

import pytest

import envs
from rl.config import GRPOConfig
from rl.rollout_records import read_records
from rl.trainer import GRPOTrainer

TASKS = [
    {"id": "a", "prompt": "1=", "reference": {"answer": "7"}},
    {"id": "b", "prompt": "2=", "reference": {"answer": "3"}},
]


def _run(model, out, **kw):
    cfg = GRPOConfig(
        env="rlvrtest/RayDigit-v0",
        model=model,
        group_size=4,
        prompts_per_step=2,
        max_new_tokens=2,
        steps=1,
        seed=5,
        output_dir=str(out),
        progress=False,
        tensorboard=False,
        quarantine="off",
        **kw,
    )
    trainer = GRPOTrainer(cfg)
    try:
        trainer.train()
        kind = type(getattr(trainer._executor, "inner", trainer._executor)).__name__
    finally:
        trainer.close()
    return kind, read_records(out / "rollouts.jsonl")


@pytest.mark.slow
def test_grading_on_a_ray_cluster_gives_the_rewards_of_local_grading(
    tiny_model_path, tmp_path, monkeypatch
):
    # a local ray.init() must not leave an auth token behind
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    envs.register_env("rlvrtest/RayDigit-v0", verifier="math@2", tasks=TASKS, replace=True)
    local_kind, local = _run(tiny_model_path, tmp_path / "local", grading_workers=1)
    ray_kind, remote = _run(
        tiny_model_path,
        tmp_path / "ray",
        grading_workers=1,
        grading_executor="ray",
        ray_address="local",
    )
    assert (local_kind, ray_kind) == ("ProcessPoolExecutor", "RayExecutor")

    def verdicts(records):
        return [
            [
                (c["text"], c["reward"], [v["status"] for v in c["verdicts"]])
                for c in r["completions"]
            ]
            for r in records
        ]

    assert verdicts(remote) == verdicts(local) and all(
        c["graded"] for r in remote for c in r["completions"]
    )
