"""Episodes whose grading could not run (``timeout`` / ``error`` verdicts) are never trained on as
wrong.

The environments here are real ``rlvr`` environments over the real ``math@1`` verifier; a task whose
gold answer is empty makes the verifier answer ``error: bad_reference`` for every completion of it,
which is how a broken dataset row, a missing sandbox or a crashed grader reaches the trainer.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import envs
from rl.packing import group_micro_batches
from rl.config import GRPOConfig
from rl.errors import RolloutError
from rl.metrics import read_metrics
from rl.rollout_records import passing_completions, read_records
from rl.rollout import Episode, as_verdict
from rl.trainer import GRPOTrainer
from verifiers import Status

from rl_test_envs import PartlyUngradedEnv

GOOD = {"id": "good", "prompt": "1=", "reference": {"answer": "7"}}
BROKEN = {"id": "broken", "prompt": "2=", "reference": {"answer": ""}}


def _cfg(model, out, env_id, **kw):
    base = dict(
        env=env_id,
        model=model,
        group_size=4,
        prompts_per_step=2,
        micro_batch_size=8,
        max_new_tokens=2,
        steps=4,
        lr=1e-2,
        output_dir=str(out),
        progress=False,
        tensorboard=False,
        grading_workers=0,
    )
    return GRPOConfig(**{**base, **kw})


def _register(env_id, tasks):
    envs.register_env(env_id, verifier="math@1", tasks=tasks, replace=True)
    return env_id


def test_episode_graded_reads_the_status_of_every_verdict():
    e = Episode(group=0, seed=0, prompt_text="", prompt_ids=[])
    assert e.graded  # no verdicts (a plain gymnasium env): its reward is the score
    e.verdicts = [as_verdict({"status": "pass"}), as_verdict({"status": Status.ERROR})]
    assert not e.graded
    e.verdicts = [as_verdict({"status": "fail"}), as_verdict({"status": "unparseable"})]
    assert e.graded
    e.verdicts = [as_verdict({"status": "timeout"})]
    assert not e.graded
    e.verdicts, e.component_verdicts = [], [{"a@1": as_verdict({"status": "error"})}]
    assert not e.graded and next(e.unjudged()).status is Status.ERROR


def test_ungraded_episodes_are_left_out_and_recorded_as_such(tiny_model_path, tmp_path):
    env_id = _register("rlvrtest/HalfBroken-v0", [GOOD, BROKEN])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GRPOTrainer(_cfg(tiny_model_path, tmp_path, env_id, steps=6, max_ungraded_steps=0)).train()
    ungraded_warnings = [w for w in caught if "could not be graded" in str(w.message)]
    assert len(ungraded_warnings) == 1  # once per run, naming the reason
    assert "error: bad_reference" in str(ungraded_warnings[0].message)

    rows, records = (
        read_metrics(tmp_path / "metrics.jsonl"),
        read_records(tmp_path / "rollouts.jsonl"),
    )
    for row in rows:
        step = [r for r in records if r["step"] == row["step"]]
        comps = [c for r in step for c in r["completions"]]
        broken = [c for r in step if r["prompt"] == "2=" for c in r["completions"]]
        assert row["ungraded"] == len(broken) == row.get("status/error", 0)
        scores = [c["reward"] for c in comps if c["graded"]]
        assert row["reward_mean"] == (pytest.approx(sum(scores) / len(scores)) if scores else None)
        for c in broken:  # recorded as ungraded, with no reward and no advantage: never a silent 0
            assert c["graded"] is False and c["reward"] is None and c["advantage"] == 0.0
            assert c["verdicts"][-1]["status"] == "error"
            assert c["verdicts"][-1]["failure_reason"]["code"] == "bad_reference"
    # both kinds seen
    assert sum(r["ungraded"] for r in rows) > 0 and sum(r["ungraded"] for r in rows) < 6 * 8
    assert all(c["prompt"] == "1=" for c in passing_completions(records, min_reward=0.0))


def test_ungraded_episodes_give_no_gradient(tiny_model_path, tmp_path):
    # one step on a batch where every group is broken: no update, the weights stay as they were
    env_id = _register("rlvrtest/AllBroken-v0", [BROKEN])
    trainer = GRPOTrainer(_cfg(tiny_model_path, tmp_path, env_id, steps=2, max_ungraded_steps=0))
    before = {k: v.clone() for k, v in trainer.policy.state_dict().items()}
    with pytest.warns(RuntimeWarning, match="could not be graded"):
        rows = trainer.train()
    assert all(torch.equal(before[k], v) for k, v in trainer.policy.state_dict().items())
    assert [r["ungraded"] for r in rows] == [8, 8] and all(
        r["reward_mean"] != r["reward_mean"] for r in rows
    )  # NaN
    assert [r["reward_mean"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [None, None]


def test_a_grader_that_never_runs_stops_the_run_with_the_reason(tiny_model_path, tmp_path):
    env_id = _register("rlvrtest/AllBroken-v0", [BROKEN])
    trainer = GRPOTrainer(_cfg(tiny_model_path, tmp_path, env_id, steps=5, max_ungraded_steps=2))
    with pytest.warns(RuntimeWarning, match="could not be graded"):
        with pytest.raises(
            RolloutError,
            match=r"no episode could be graded in 2 steps in a row \(error: bad_reference",
        ):
            trainer.train()
    # the first fully ungraded step ran (without an update); the second stopped the run
    assert trainer.step == 1


@pytest.mark.parametrize("loss", ["p3o", "grpo"])
def test_micro_batching_gives_the_same_update_when_some_episodes_are_ungraded(
    tiny_model_path, tmp_path, loss
):
    # groups of 4 with one ungraded episode each (3 graded): after they are left out, P3O's
    # micro-batches must still hold whole groups, so a micro-batch of 4 and one of 8 give the same
    # update
    grads = []
    for mbs in (4, 8):
        PartlyUngradedEnv.turn = 0
        cfg = _cfg(
            tiny_model_path,
            tmp_path / f"{loss}{mbs}",
            "unused",
            loss=loss,
            steps=1,
            micro_batch_size=mbs,
        )
        trainer = GRPOTrainer(cfg, envs=[PartlyUngradedEnv() for _ in range(cfg.batch_episodes)])
        step, seen = trainer._optimizer_step, []

        def keep_grads():  # the accumulated gradient, read just before the optimiser uses it
            seen.append([p.grad.clone() for p in trainer.policy.parameters()])
            return step()

        trainer._optimizer_step = keep_grads
        with pytest.warns(
            RuntimeWarning, match=r"could not be graded \(error: sandbox_unavailable x2\)"
        ):
            row = trainer.train()[0]
        assert row["ungraded"] == 2 and row["grad_norm"] > 0
        grads.append(seen[0])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def test_group_micro_batches_never_split_a_group():
    ids = [0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 3]
    ranges = group_micro_batches(ids, 4)
    # a group of 5 > 4 stands alone
    assert [list(r) for r in ranges] == [[0, 1], [2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert [i for r in ranges for i in r] == list(range(len(ids)))
    assert group_micro_batches([], 4) == []


def test_a_combined_reward_with_a_component_that_could_not_run_is_ungraded(
    tiny_model_path, tmp_path
):
    import gymnasium

    from envs.wrappers import CombinedReward

    env_id = _register("rlvrtest/Combined-v0", [GOOD])
    weights = {"math@1": 1.0, "json_schema@1": 0.5}
    # the component errors
    broken_schema = {"json_schema@1": lambda task: {"schema": {"type": "nonsense"}}}
    cfg = _cfg(tiny_model_path, tmp_path, env_id, steps=1)
    made = [
        CombinedReward(gymnasium.make(env_id), weights, broken_schema)
        for _ in range(cfg.batch_episodes)
    ]
    with pytest.warns(
        RuntimeWarning, match=r"8 of 8 episodes could not be graded \(error: bad_schema x8\)"
    ):
        row = GRPOTrainer(cfg, envs=made).train()[0]
    assert row["ungraded"] == 8
    comp = read_records(tmp_path / "rollouts.jsonl")[0]["completions"][0]
    assert comp["graded"] is False and comp["reward"] is None
    assert comp["component_verdicts"][0]["json_schema@1"]["status"] == "error"
    assert read_records(tmp_path / "rollouts.jsonl")[0]["verifiers"] == ["json_schema@1", "math@1"]


def test_ungraded_rewards_are_null_in_parquet_records_too(tiny_model_path, tmp_path):
    env_id = _register("rlvrtest/AllBroken-v0", [BROKEN])
    cfg = _cfg(
        tiny_model_path, tmp_path, env_id, steps=1, record_format="parquet", max_ungraded_steps=0
    )
    with pytest.warns(RuntimeWarning, match="could not be graded"):
        GRPOTrainer(cfg).train()
    records = read_records(tmp_path / "rollouts")
    assert [r["rewards"] for r in records] == [[None] * 4, [None] * 4]
    assert all(c["graded"] is False for r in records for c in r["completions"])
