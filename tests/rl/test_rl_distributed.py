"""Training on 2 ranks (``torchrun``, CPU, gloo) against one process: the same gradient, the same
weights on every rank, only rank 0 writing, and a resume that reaches the uninterrupted state.

The ranks run ``ddp_worker.py`` (beside this file) under ``torchrun --nproc-per-node 2``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_worker import CASES, capture_step, grads_config, grads_envs

from rl import distributed as dist
from rl.checkpoint import latest_checkpoint, read_state
from rl.config import GRPOConfig
from rl.errors import ConfigError
from rl.metrics import read_metrics
from rl.rollout_records import read_records
from rl.trainer import GRPOTrainer, _derive

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _torchrun(*args: str) -> None:
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
    }
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [
        str(TORCHRUN),
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(port),
        str(HERE / "ddp_worker.py"),
        *args,
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, (
        f"{' '.join(cmd)} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    )


# --- without a launcher: one rank, every helper a no-op -------------------------------------------
def test_one_process_is_rank_0_of_1_and_the_collectives_change_nothing():
    assert not dist.launched() and not dist.active() and not dist.init("cpu")
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    x = torch.tensor([1.0, 2.0])
    assert dist.all_reduce_sum(x) is x and x.tolist() == [1.0, 2.0]
    assert dist.all_gather_object({"a": 1}) == [{"a": 1}] and dist.broadcast_object(3) == 3
    p = torch.nn.Parameter(torch.ones(2))
    dist.all_reduce_grads([p])
    assert p.grad is None


def test_prompts_per_step_must_divide_among_the_ranks():
    assert GRPOConfig(prompts_per_step=8).prompts_per_rank(4) == 2
    assert GRPOConfig(prompts_per_step=3).prompts_per_rank(1) == 3
    with pytest.raises(
        ConfigError,
        match=r"prompts_per_step=6 does not divide among 4 ranks.*multiple of 4 \(e.g. 4 or 8\)",
    ):
        GRPOConfig(prompts_per_step=6).prompts_per_rank(4)


# --- 2 ranks --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_ranks_sum_to_the_single_process_gradient_on_the_same_episodes(
    tiny_model_path, tmp_path
):
    _torchrun("grads", str(tiny_model_path), str(tmp_path))
    for case in CASES:
        ranks = [
            torch.load(tmp_path / f"grads-{case}-rank{k}.pt", weights_only=False) for k in (0, 1)
        ]
        union = ranks[0]["groups"] + ranks[1]["groups"]
        # the ranks drew the prompts one process draws: seeds counted over the global batch
        assert [g[0].seed for g in union] == [_derive(0, 0, 0, b) for b in range(4)]
        cfg = grads_config(str(tiny_model_path), tmp_path / "single", case)
        trainer = GRPOTrainer(cfg, envs=grads_envs(case, cfg.batch_episodes))
        single = capture_step(trainer, groups=union)
        trainer.close()
        assert len(single["grads"]) == len(ranks[0]["grads"]) == 1
        nonzero = False
        for g0, g1, g in zip(ranks[0]["grads"][0], ranks[1]["grads"][0], single["grads"][0]):
            assert (g0 is None) == (g1 is None) == (g is None)
            if g is not None:
                # the summed gradient is the same bits on every rank
                assert torch.equal(g0, g1), case
                torch.testing.assert_close(g0, g, atol=1e-6, rtol=1e-5, msg=case)
                nonzero = nonzero or bool(g.abs().sum() > 0)
        assert nonzero, f"{case}: the test batch gave no gradient; pick episodes with mixed rewards"
        assert single["metrics"]["sft_groups"] == (4 if case == "sft" else 0)
        # the clipped case clips
        assert case != "dapo" or single["metrics"]["grad_norm"] > cfg.max_grad_norm
        for key in (
            "reward_mean",
            "reward_std",
            "pass_rate",
            "loss",
            "sft_loss",
            "sft_groups",
            "kl",
            "entropy",
            "clip_fraction",
            "grad_norm",
            "logprob_gap",
            "completion_len_mean",
            "zero_std_fraction",
        ):
            for rank in ranks:  # every rank reports the metrics of the global batch
                assert rank["metrics"][key] == pytest.approx(
                    single["metrics"][key], rel=1e-5, abs=1e-6
                ), (case, key)


@pytest.fixture(scope="module")
def two_rank_runs(tiny_model_path, tmp_path_factory):
    """``rlvr train`` on 2 ranks: 4 steps straight; 2 steps, then resumed to 4 in a new launch."""
    out = tmp_path_factory.mktemp("ddp-runs")
    _torchrun("train", str(tiny_model_path), str(out), "straight", "4")
    _torchrun("train", str(tiny_model_path), str(out), "resumed", "2")
    _torchrun("train", str(tiny_model_path), str(out), "resumed", "4", "--resume")
    return out


def _reports(out: Path, run: str, steps: int) -> list[dict]:
    return [json.loads((out / f"{run}-{steps}-rank{k}.json").read_text()) for k in (0, 1)]


@pytest.mark.slow
def test_a_two_rank_run_keeps_the_ranks_identical_and_only_rank_0_writes(two_rank_runs):
    out = two_rank_runs
    rank0, rank1 = _reports(out, "straight", 4)
    assert rank0["world"] == rank1["world"] == 2 and rank0["steps"] == rank1["steps"] == 4
    assert rank0["hash"] == rank1["hash"]
    assert rank0["history"] == rank1["history"]  # both ranks see the metrics of the global batch
    assert (rank0["saves"], rank1["saves"]) == (4, 0)  # checkpoint_every=1: rank 0 alone wrote them
    rows = read_metrics(out / "straight" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3]  # one writer: no line twice
    assert [r["reward_mean"] for r in rows] == rank0["history"]
    records = read_records(out / "straight" / "rollouts.jsonl")
    assert [(r["step"], r["group"]) for r in records] == [
        (s, g) for s in range(4) for g in range(4)
    ]
    assert read_state(latest_checkpoint(out / "straight"))["step"] == 4


@pytest.mark.slow
def test_a_resumed_two_rank_run_reaches_the_uninterrupted_state(two_rank_runs):
    out = two_rank_runs
    straight, first, resumed = (
        _reports(out, "straight", 4),
        _reports(out, "resumed", 2),
        _reports(out, "resumed", 4),
    )
    assert [r["steps"] for r in first + resumed] == [2, 2, 4, 4]
    assert resumed[0]["hash"] == resumed[1]["hash"] == straight[0]["hash"]
    assert first[0]["history"] + resumed[0]["history"] == straight[0]["history"]
    rows = read_metrics(out / "resumed" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
