"""Acceptance: GRPO learns on a real rlvr environment (the ``math@1`` verifier stack), on CPU,
seeded.

Setup: a tiny 2-layer Llama (hidden 32) over a 13-character tokenizer, built locally; an environment
registered with ``envs.register_env`` over the real ``math@1`` verifier whose four tasks are
"1=" -> 7, "2=" -> 3, "3=" -> 5, "4=" -> 8, graded on a one-token completion. A random init emits
the right digit with probability about 1/17 (17 tokens), so the starting pass rate is strictly
between 0 and 1. Three runs from the same seed and initial weights: normal training, a
learning-rate-0 control, and a run with every advantage sign flipped.

Thresholds (measured value: mean reward over the last 10 steps = 320 episodes):

* the start (step 0 reward, the same in all runs) must lie strictly in (0, 1);
* trained >= 0.30 and >= control + 0.20: the control stays at the initial pass rate (~0.06);
  with 320 Bernoulli episodes at p <= 0.15 the standard error is <= 0.02, so a 0.20 gap is
  > 10 standard errors. Observed on the dev machine: trained ~0.5, control ~0.06;
* flipped <= control + 0.05 (2.5 standard errors above the control): pushing probability
  away from passing completions must not raise the reward. Observed: 0.0.
"""

from __future__ import annotations

import pytest

import envs
from rl.config import GRPOConfig
from rl.trainer import GRPOTrainer

TASKS = [
    {"id": f"t{i}", "prompt": f"{i}=", "reference": {"answer": gold}}
    for i, gold in zip("1234", "7358")
]
ENV_ID = "rlvrtest/DigitAnswer-v0"
STEPS, LAST = 40, 10


def learning_config(model_path, out, **changes) -> GRPOConfig:
    """The acceptance run's config (also run by ``tests/bench/learning_curve.py``)."""
    envs.register_env(ENV_ID, verifier="math@1", tasks=TASKS, replace=True)
    settings = dict(
        env=ENV_ID,
        model=model_path,
        group_size=8,
        prompts_per_step=4,
        micro_batch_size=32,
        max_new_tokens=1,
        steps=STEPS,
        lr=2e-2,
        seed=0,
        output_dir=str(out),
        progress=False,
        tensorboard=False,
        record_format="none",
        grading_workers=1,
    )
    return GRPOConfig(**{**settings, **changes})


def _run(model_path, out, **changes):
    rewards = [
        m["reward_mean"] for m in GRPOTrainer(learning_config(model_path, out, **changes)).train()
    ]
    return rewards[0], sum(rewards[-LAST:]) / LAST


@pytest.mark.slow
def test_grpo_learns_above_start_and_controls(tiny_model_path, tmp_path):
    start, trained = _run(tiny_model_path, tmp_path / "train")
    control_start, control = _run(tiny_model_path, tmp_path / "lr0", lr=0.0)
    _, flipped = _run(tiny_model_path, tmp_path / "flip", flip_advantage_sign=True)
    print(f"start={start:.3f} trained={trained:.3f} control={control:.3f} flipped={flipped:.3f}")
    assert 0.0 < start < 1.0 and start == control_start
    assert trained >= 0.30 and trained >= control + 0.20
    assert flipped <= control + 0.05
