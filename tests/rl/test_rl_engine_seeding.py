"""Seeded sampling: reproducible, and no two chunks of one call nor two turns of one rollout share a
random stream."""

from __future__ import annotations

from rl_test_envs import EchoToolEnv

from rl.engines.base import FakeEngine, SamplingParams
from rl.engines.hf import HFEngine
from rl.rollout import EpisodeRunner


def _texts(engine, prompts, seed):
    groups = engine.generate(prompts, SamplingParams(n=2, max_tokens=6, seed=seed))
    return [tuple(c.token_ids) for g in groups for c in g]


def test_chunks_of_one_call_draw_from_different_streams_and_repeat_with_the_seed(tiny_policy):
    model, tok = tiny_policy
    engine = HFEngine(model, tok, max_batch=2)  # one prompt (two samples) per chunk
    first = _texts(engine, ["1=", "1="], seed=7)
    assert first == _texts(engine, ["1=", "1="], seed=7)
    # the same prompt in two chunks: before the fix, the same two samples
    assert first[:2] != first[2:]
    whole = _texts(HFEngine(model, tok, max_batch=64), ["1="], seed=7)
    assert whole == first[:2]  # the first chunk keeps the call's own seed


class SeedRecordingEngine(FakeEngine):
    """The scripted engine, remembering the sampling seed of every call."""

    def __init__(self, texts):
        super().__init__(texts)
        self.seeds = []

    def generate(self, prompts, params):
        self.seeds.append(params.seed)
        return super().generate(prompts, params)


def test_each_turn_of_a_multi_turn_rollout_samples_with_its_own_seed(tiny_policy):
    _, tok = tiny_policy
    engine = SeedRecordingEngine(["1", "7"])
    runner = EpisodeRunner([EchoToolEnv() for _ in range(2)], engine, tok, max_turns=3)
    groups = runner.run([5], SamplingParams(n=2, max_tokens=2, seed=11))
    assert [e.done for e in groups[0]] == [True, True]
    assert engine.seeds == [11, 12]  # turn 1 uses the call's seed; turn 2 a different, derived one


def test_the_sampler_draws_from_the_distribution_and_never_an_excluded_token():
    import torch

    from rl.engines.hf import _pick

    probs = torch.tensor([0.5, 0.0, 0.2, 0.25, 0.0, 0.05])  # zeros: tokens outside a top-p nucleus
    logp = probs.log().expand(20_000, -1).contiguous()
    draws = torch.cat([_pick(logp, 1.0, torch.Generator().manual_seed(s)) for s in range(10)])
    freq = torch.bincount(draws, minlength=6).float() / draws.numel()
    assert freq[1] == 0 and freq[4] == 0
    assert torch.allclose(freq, probs, atol=0.005)  # 200k draws: the standard error is below 0.0012
    again = _pick(logp, 1.0, torch.Generator().manual_seed(3))
    # same seed, same tokens
    assert torch.equal(again, _pick(logp, 1.0, torch.Generator().manual_seed(3)))
    # temperature 0: argmax
    assert torch.equal(_pick(logp[:4], 0.0, None), torch.zeros(4, dtype=torch.long))
