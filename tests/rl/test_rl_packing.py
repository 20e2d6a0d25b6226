"""Packing episodes onto one right-padded grid, and the policy's log-probs on it."""

from __future__ import annotations

import torch

from rl.packing import ScoredEpisode, pack, pack_scored, token_logprobs
from rl.rollout import Episode


def _episodes():
    return [
        Episode(
            group=0,
            seed=1,
            prompt_text="1=",
            prompt_ids=[5, 13],
            tokens=[7, 2, 9, 1],
            loss_mask=[1, 1, 0, 1],
            sampler_logprobs=[-0.5, -0.25, 0.0, -1.0],
        ),
        Episode(
            group=1,
            seed=2,
            prompt_text="12=",
            prompt_ids=[5, 6, 13],
            tokens=[8],
            loss_mask=[1],
            sampler_logprobs=[-2.0],
        ),
    ]


def test_pack_lays_out_tokens_masks_and_sampler_logprobs_on_the_grid():
    mb = pack(_episodes(), [1.0, -1.0], [1.0, 0.0], [0, 1], pad_id=0, device="cpu")
    assert mb.start == 1 and mb.width == 4
    assert mb.input_ids.tolist() == [[5, 13, 7, 2, 9, 1], [5, 6, 13, 8, 0, 0]]
    assert mb.attention_mask.tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]
    assert mb.mask.tolist() == [[1, 1, 0, 1], [0, 1, 0, 0]]
    assert mb.sampler_logp.tolist() == [[-0.5, -0.25, 0.0, -1.0], [0.0, -2.0, 0.0, 0.0]]
    assert mb.advantages.tolist() == [1.0, -1.0] and mb.group_ids.tolist() == [0, 1]


def test_logprobs_on_a_right_padded_grid_equal_those_of_each_sequence_alone(tiny_policy):
    model, _ = tiny_policy
    episodes = _episodes()
    mb = pack(episodes, [0.0, 0.0], [0.0, 0.0], [0, 1], pad_id=0, device="cpu")
    with torch.no_grad():
        logp, ent = token_logprobs(model, mb, temperature=0.7, entropy=True)
        for i, e in enumerate(episodes):
            ids = torch.tensor([e.prompt_ids + e.tokens])
            alone = torch.log_softmax(model(ids).logits[0, len(e.prompt_ids) - 1 : -1] / 0.7, -1)
            alone = alone.gather(-1, torch.tensor(e.tokens).unsqueeze(-1)).squeeze(-1)
            first = len(e.prompt_ids) - 1 - mb.start
            assert torch.allclose(logp[i, first : first + len(e.tokens)], alone, atol=1e-5)
    assert ent.shape == logp.shape and bool((ent[mb.mask > 0] > 0).all())


def test_pack_scored_lays_out_named_rows_as_pack_does():
    rows = [
        ScoredEpisode(e, adv, rew, g)
        for e, adv, rew, g in zip(_episodes(), [1, -1], [1, 0], [3, 4])
    ]
    plain = pack(_episodes(), [1, -1], [1, 0], [3, 4], pad_id=0, device="cpu")
    scored = pack_scored(rows, pad_id=0, device="cpu")
    for name in ("input_ids", "mask", "sampler_logp", "advantages", "rewards", "group_ids"):
        assert torch.equal(getattr(scored, name), getattr(plain, name)), name
    assert scored.start == plain.start and scored.prompts == plain.prompts
