"""StepStats: the sums of one update and the metrics they are logged as."""

from __future__ import annotations

import math

import torch

from rl.packing import Packed
from rl.step_stats import StepStats

METRICS = {
    "kl",
    "clip_fraction",
    "entropy",
    "loss",
    "sft_loss",
    "grad_norm",
    "logprob_gap",
    "logprob_gap_max",
    "sampler_logprob_nonfinite",
}


def _batch(mask, sampler):
    t = torch.tensor
    return Packed(
        input_ids=None,
        attention_mask=None,
        start=0,
        mask=t(mask),
        sampler_logp=t(sampler),
        advantages=None,
        rewards=None,
        group_ids=None,
    )


def test_a_step_without_update_logs_zeros():
    assert StepStats().metrics() == {name: 0 for name in METRICS}


def test_sums_become_per_token_metrics():
    stats = StepStats()
    mb = _batch([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], [[-1.0, float("nan"), -5.0], [-2.0, 0.0, 0.0]])
    old = torch.tensor([[-1.5, -1.0, -1.0], [-1.0, 0.0, 0.0]])
    stats.add_first_pass(mb, old, ent=torch.full((2, 3), 0.5))
    for loss, clipped, kl in ((0.4, 1.0, 0.3), (0.2, 2.0, 0.1)):  # two micro-batches, mu = 2
        stats.add_loss(loss, {"clipped": clipped, "kl": kl, "tokens": 3.0}, passes=2)
    stats.sft_loss += 0.25
    stats.grad_norm = 1.5
    m = stats.metrics()
    assert set(m) == METRICS
    assert stats.tokens == 3.0 and m["sampler_logprob_nonfinite"] == 1
    assert m["logprob_gap"] == (0.5 + 1.0) / 3 and m["logprob_gap_max"] == 1.0
    assert m["entropy"] == 0.5 and math.isclose(m["loss"], 0.3)
    assert m["clip_fraction"] == 1.5 / 3 and math.isclose(m["kl"], 0.2 / 3)
    assert m["sft_loss"] == 0.25 and m["grad_norm"] == 1.5


def test_all_reduce_on_one_process_keeps_every_sum():
    stats = StepStats(loss=0.5, tokens=4.0, gap_abs=0.1, gap_max=0.3, grad_norm=2.0, entropy=1.0)
    assert stats.all_reduce("cpu") == stats
