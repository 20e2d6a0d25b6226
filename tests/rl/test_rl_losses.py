"""Losses, advantages and KL estimators against hand-computed tensors."""

from __future__ import annotations

import math

import pytest
import torch

from rl.advantages import group_advantages, overlong_penalty, pairwise_advantages, zero_std_fraction
from rl.kl import KL_ESTIMATORS, kl_estimate
from rl.losses import LOSSES, LossParams, Normaliser, PolicyBatch, get_loss, sft_loss

# --- advantages -----------------------------------------------------------------------------------


def test_group_advantages_by_hand():
    r = torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 0.0, 1.0, 1.0]])
    # row 0: mean .5, unbiased std sqrt(1/3); row 1: mean 1, std sqrt(2/3)
    expected = torch.tensor([[0.5, -0.5, -0.5, 0.5], [1.0, -1.0, 0.0, 0.0]])
    stds = torch.tensor([[math.sqrt(1 / 3)], [math.sqrt(2 / 3)]])
    assert torch.allclose(group_advantages(r, scale=False), expected)
    assert torch.allclose(group_advantages(r), expected / stds)


def test_zero_std_group_gives_zero_never_nan():
    r = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    adv = group_advantages(r)
    assert not torch.isnan(adv).any()
    assert adv[:2].eq(0).all() and adv[2].ne(0).all()
    assert zero_std_fraction(r) == pytest.approx(2 / 3)


def test_ungraded_entries_get_zero_advantage_and_stay_out_of_mean_and_std():
    # row 0: pass, pass, fail, error -> graded [1, 1, 0]: mean 2/3, unbiased std sqrt(1/3)
    r = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
    graded = torch.tensor(
        [[True, True, True, False], [True, False, False, False], [True, True, True, True]]
    )
    adv = group_advantages(r, graded=graded)
    third = 1 / 3
    assert torch.allclose(adv[0], torch.tensor([third, third, -2 * third, 0.0]) / math.sqrt(third))
    assert adv[1].eq(0).all()  # one graded episode: no group to compare it with
    assert torch.allclose(adv[2], group_advantages(r[2:])[0])  # a fully graded row is unchanged
    assert torch.allclose(
        group_advantages(r, scale=False, graded=graded)[0],
        torch.tensor([third, third, -2 * third, 0.0]),
    )
    # scoring the error as 0 ("wrong") would have given it a negative advantage: it gets exactly 0
    assert group_advantages(r)[0, 3] < 0 and adv[0, 3] == 0
    assert zero_std_fraction(r, graded=graded) == pytest.approx(1 / 3)
    assert torch.equal(group_advantages(r, graded=torch.ones_like(graded)), group_advantages(r))


def test_pairwise_advantages_are_shift_invariant():
    r = torch.tensor([[0.0, 1.0, 0.5]])
    assert torch.equal(pairwise_advantages(r), pairwise_advantages(r + 3.0))
    assert pairwise_advantages(r)[0, 1, 0] == 1.0 and pairwise_advantages(r)[0, 0, 1] == -1.0


@pytest.mark.parametrize(
    "length, expected", [(4, 0.0), (6, 0.0), (7, -0.25), (8, -0.5), (10, -1.0), (12, -1.0)]
)
def test_overlong_penalty(length, expected):
    assert overlong_penalty(torch.tensor([length]), max_tokens=10, buffer=4)[
        0
    ].item() == pytest.approx(expected)


# --- KL -------------------------------------------------------------------------------------------


def test_kl_estimators_by_hand():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    log_r = math.log(0.25) - math.log(0.5)
    assert kl_estimate(logp, ref, "k1").item() == pytest.approx(-log_r)
    assert kl_estimate(logp, ref, "k2").item() == pytest.approx(0.5 * log_r**2)
    assert kl_estimate(logp, ref, "k3").item() == pytest.approx(math.exp(log_r) - 1 - log_r)
    assert set(KL_ESTIMATORS) == {"k1", "k2", "k3"}
    with pytest.raises(ValueError, match="unknown KL estimator 'k9'"):
        kl_estimate(logp, ref, "k9")


def test_k3_is_unbiased_for_the_true_kl():
    torch.manual_seed(0)
    p = torch.tensor([0.6, 0.3, 0.1])
    q = torch.tensor([0.3, 0.3, 0.4])
    true = (p * (p.log() - q.log())).sum()
    samples = torch.multinomial(p, 200_000, replacement=True)
    for name in ("k1", "k3"):
        est = kl_estimate(p.log()[samples], q.log()[samples], name).mean()
        assert est.item() == pytest.approx(true.item(), abs=0.01)


# --- losses by hand -------------------------------------------------------------------------------


def _batch(logp, old, mask, adv, rewards=None, groups=None, ref=None, weights=None, max_new=4):
    n = logp.shape[0]
    mask = torch.tensor(mask, dtype=torch.float)
    norm = Normaliser(
        sequences=n,
        tokens=int(mask.sum()),
        pairs=max(1, _pairs(groups or [0] * n)),
        max_new_tokens=max_new,
    )
    return PolicyBatch(
        logp,
        old,
        mask,
        torch.tensor(adv),
        torch.tensor(rewards or [0.0] * n),
        torch.tensor(groups or [0] * n),
        norm,
        weights,
        ref,
    )


def _pairs(groups):
    return sum(1 for i in groups for j in groups if i == j) - len(groups)


def test_grpo_loss_ratio_one_by_hand():
    logp = torch.zeros(2, 3)
    b = _batch(logp, logp.clone(), [[1, 1, 0], [1, 1, 1]], [1.0, -2.0])
    # ratio 1 everywhere: per-token loss = -A; token-mean per sequence, then mean over sequences
    assert get_loss("grpo")(b, LossParams()).loss.item() == pytest.approx((-1.0 + 2.0) / 2)
    # dr_grpo: sum over tokens / (N * L_max) = (-1*2 + 2*3) / (2*4)
    assert get_loss("dr_grpo")(b, LossParams()).loss.item() == pytest.approx(4 / 8)
    # dapo: sum over tokens / total tokens = 4 / 5
    assert get_loss("dapo")(b, LossParams()).loss.item() == pytest.approx(4 / 5)


@pytest.mark.parametrize(
    "ratio, adv, expected_obj, clipped",
    [
        (1.5, 1.0, 1.2, True),  # positive advantage: ratio capped at 1 + eps_high
        (0.5, 1.0, 0.5, False),  # positive advantage, ratio below: unclipped (pessimistic min)
        (0.5, -1.0, -0.8, True),  # negative advantage: ratio floored at 1 - eps_low
        (1.5, -1.0, -1.5, False),  # negative advantage, ratio above: unclipped
        (1.1, 1.0, 1.1, False),  # inside the trust region
    ],
)
def test_grpo_clipping_cases(ratio, adv, expected_obj, clipped):
    old = torch.zeros(1, 1)
    b = _batch(torch.full((1, 1), math.log(ratio)), old, [[1]], [adv])
    out = get_loss("grpo")(b, LossParams(clip_eps_low=0.2, clip_eps_high=0.2))
    assert out.loss.item() == pytest.approx(-expected_obj, rel=1e-5)
    assert out.stats["clipped"] == float(clipped)


def test_dapo_clip_higher_is_asymmetric():
    b = _batch(torch.full((1, 1), math.log(1.25)), torch.zeros(1, 1), [[1]], [1.0])
    sym = get_loss("dapo")(b, LossParams(0.2, 0.2)).loss.item()
    higher = get_loss("dapo")(b, LossParams(0.2, 0.28)).loss.item()
    assert sym == pytest.approx(-1.2) and higher == pytest.approx(-1.25)


def test_gspo_uses_the_length_normalised_sequence_ratio():
    logp = torch.log(torch.tensor([[2.0, 0.5, 1.0]]))  # token ratios 2, .5, (masked)
    b = _batch(logp, torch.zeros(1, 3), [[1, 1, 0]], [1.0])
    out = get_loss("gspo")(b, LossParams(0.2, 0.2))
    assert out.loss.item() == pytest.approx(-1.0)  # geometric mean of 2 and .5 is 1: unclipped
    b2 = _batch(torch.log(torch.tensor([[2.0, 2.0, 1.0]])), torch.zeros(1, 3), [[1, 1, 0]], [1.0])
    assert get_loss("gspo")(b2, LossParams(0.2, 0.2)).loss.item() == pytest.approx(-1.2)


def test_p3o_pairs_by_hand():
    logp = torch.log(torch.tensor([[1.5], [1.0], [1.0]]))
    b = _batch(
        logp,
        torch.zeros(3, 1),
        [[1], [1], [1]],
        [0.0] * 3,
        rewards=[1.0, 0.0, 5.0],
        groups=[0, 0, 1],
    )
    out = get_loss("p3o")(b, LossParams(0.2, 0.2))
    # one group with two members -> pairs (0,1): R=1.5, A=1 -> clipped 1.2; (1,0): R=1/1.5, A=-1 ->
    # clip at .8 -> -0.8
    # min(R A, clip A) for (1,0): min(-0.667, -0.8) = -0.8 ; loss = -(1.2 - 0.8) / 2
    assert out.loss.item() == pytest.approx(-(1.2 - 0.8) / 2)


def test_kl_term_is_added_with_beta():
    logp = torch.zeros(1, 2)
    ref = torch.log(torch.tensor([[0.5, 0.5]]))
    b = _batch(logp, logp.clone(), [[1, 1]], [0.0], ref=ref)
    k3 = 0.5 - 1 - math.log(0.5)
    for name in ("grpo", "dapo", "gspo", "p3o"):
        out = get_loss(name)(b, LossParams(beta=0.1, kl_estimator="k3"))
        assert out.loss.item() == pytest.approx(0.1 * k3), name
        assert out.stats["kl"] == pytest.approx(2 * k3)


def test_tis_weights_scale_the_policy_term():
    logp = torch.zeros(1, 2)
    b = _batch(logp, logp.clone(), [[1, 1]], [1.0], weights=torch.tensor([[0.5, 2.0]]))
    assert get_loss("grpo")(b, LossParams()).loss.item() == pytest.approx(-(0.5 + 2.0) / 2)


def test_sft_loss_is_token_mean_nll():
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.9]]))
    assert sft_loss(logp, torch.tensor([[1.0, 1.0, 0.0]]), 1).item() == pytest.approx(
        -(math.log(0.5) + math.log(0.25)) / 2
    )


def test_loss_table_and_unknown_name():
    assert sorted(LOSSES) == ["dapo", "dr_grpo", "grpo", "gspo", "p3o"]
    with pytest.raises(ValueError, match="unknown loss 'ppo'; choose one of"):
        get_loss("ppo")


# --- gradients ------------------------------------------------------------------------------------


def _toy_policy(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 5)


def _toy_logp(policy, feats, actions):
    return torch.log_softmax(policy(feats), -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def _toy_data(n=6, t=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(n, t, 3, generator=g)
    actions = torch.randint(0, 5, (n, t), generator=g)
    mask = (torch.rand(n, t, generator=g) > 0.25).float()
    mask[:, 0] = 1.0
    rewards = torch.randint(0, 2, (n // 3, 3), generator=g).float()
    return feats, actions, mask, rewards


def test_one_pass_grpo_gradient_equals_reinforce_with_group_baseline():
    feats, actions, mask, rewards = _toy_data()
    adv = group_advantages(rewards).flatten()
    n = len(adv)
    policy = _toy_policy()
    logp = _toy_logp(policy, feats, actions)
    norm = Normaliser(n, int(mask.sum()), 1, 4)
    loss = get_loss("grpo")(
        PolicyBatch(logp, logp.detach(), mask, adv, rewards.flatten(), torch.arange(n) // 3, norm),
        LossParams(),
    ).loss
    grpo_grad = torch.autograd.grad(loss, list(policy.parameters()), retain_graph=True)
    # REINFORCE: -1/N sum_i A_i * (1/|y_i|) sum_t log pi(t), with the group-mean/std baseline in A
    reinforce = -((adv * (logp * mask).sum(-1) / mask.sum(-1)).sum() / n)
    ref_grad = torch.autograd.grad(reinforce, list(policy.parameters()))
    for a, b in zip(grpo_grad, ref_grad):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_accumulation_equals_full_batch(name):
    feats, actions, mask, rewards = _toy_data(n=6)
    adv = group_advantages(rewards).flatten()
    groups = torch.arange(6) // 3
    policy = _toy_policy()
    with torch.no_grad():
        # ratios != 1 so clipping bites
        old = _toy_logp(policy, feats, actions) + 0.1 * torch.randn(6, 4)
    norm = Normaliser(6, int(mask.sum()), 12, 4)
    params = LossParams(0.1, 0.15, 0.05, "k3")
    ref = old - 0.2

    def grads(parts):
        policy.zero_grad()
        for idx in parts:
            logp = _toy_logp(policy, feats[idx], actions[idx])
            b = PolicyBatch(
                logp,
                old[idx],
                mask[idx],
                adv[idx],
                rewards.flatten()[idx],
                groups[idx],
                norm,
                None,
                ref[idx],
            )
            get_loss(name)(b, params).loss.backward()
        return [p.grad.clone() for p in policy.parameters()]

    full = grads([slice(0, 6)])
    accumulated = grads([slice(0, 3), slice(3, 6)])
    for a, b in zip(full, accumulated):
        assert torch.allclose(a, b, atol=1e-6)


def test_p3o_gradient_is_invariant_to_a_reward_shift_while_dr_grpo_without_baseline_is_not():
    feats, actions, mask, rewards = _toy_data(n=6)
    groups = torch.arange(6) // 3
    norm = Normaliser(6, int(mask.sum()), 12, 4)

    def grad(r):
        policy = _toy_policy()
        logp = _toy_logp(policy, feats, actions)
        b = PolicyBatch(logp, logp.detach() + 0.05, mask, torch.zeros(6), r.flatten(), groups, norm)
        get_loss("p3o")(b, LossParams()).loss.backward()
        return [p.grad.clone() for p in policy.parameters()]

    base, shifted = grad(rewards), grad(rewards + 10.0)
    for a, b in zip(base, shifted):
        assert torch.allclose(a, b, atol=1e-7)
    assert any(g.abs().sum() > 0 for g in base)
    # a raw-reward policy gradient (advantage = reward, no baseline) does change under the shift
    policy = _toy_policy()
    logp = _toy_logp(policy, feats, actions)
    g1 = torch.autograd.grad(
        -(rewards.flatten() * (logp * mask).sum(-1)).sum(), policy.weight, retain_graph=True
    )[0]
    g2 = torch.autograd.grad(
        -((rewards.flatten() + 10.0) * (logp * mask).sum(-1)).sum(), policy.weight
    )[0]
    assert not torch.allclose(g1, g2)
