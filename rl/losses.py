"""GRPO-family policy losses: small pure tensor functions in a table keyed by name.

Every loss takes a :class:`PolicyBatch` (one micro-batch, padded ``[N, T]`` token tensors) and
:class:`LossParams`, and returns a :class:`LossOutput`. Normalisers are *global* (counts over the
whole optimisation batch, carried in :class:`Normaliser`), so summing the losses of micro-batches
gives exactly the full-batch loss and gradient accumulation changes nothing.

Notation: ``rho_t = pi(t) / pi_old(t)`` is the per-token ratio against the behaviour policy (the
trainer's log-probs at generation time), ``A`` the advantage, ``m_t`` the loss mask (1 on policy
tokens, 0 on prompt, padding and environment/tool tokens), ``w_t`` the truncated importance weight
``min(pi_old(t) / pi_sampler(t), C)`` (1 when TIS is off), and
``l_t = -min(rho_t A, clip(rho_t, 1 - eps_low, 1 + eps_high) A) * w_t + beta * KL_t``.

>>> sorted(LOSSES)
['dapo', 'dr_grpo', 'grpo', 'gspo', 'p3o']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .advantages import pairwise_advantages
from .kl import kl_estimate

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class Normaliser:
    """Counts over the whole optimisation batch (not the micro-batch)."""

    sequences: int
    """Number of sequences that take the RL loss."""
    tokens: int
    """Number of loss-masked (policy) tokens over those sequences."""
    pairs: int
    """Number of ordered pairs ``(i, j), i != j`` of the same prompt (P3O)."""
    max_new_tokens: int
    """The constant length normaliser of Dr. GRPO."""


@dataclass(frozen=True)
class LossParams:
    """The knobs a loss reads (a view of :class:`~rl.config.GRPOConfig`)."""

    clip_eps_low: float = 0.2
    clip_eps_high: float = 0.2
    beta: float = 0.0
    kl_estimator: str = "k3"


@dataclass(frozen=True)
class PolicyBatch:
    """One micro-batch of episodes as padded tensors."""

    logp: "torch.Tensor"
    """``[N, T]`` log-probs of the taken tokens under the policy being optimised (with grad)."""
    old_logp: "torch.Tensor"
    """``[N, T]`` the trainer's log-probs at generation time (no grad)."""
    mask: "torch.Tensor"
    """``[N, T]`` float, 1 on tokens that take the loss."""
    advantages: "torch.Tensor"
    """``[N]`` per-sequence advantages."""
    rewards: "torch.Tensor"
    """``[N]`` rewards (P3O forms its own pairwise advantages from these)."""
    group_ids: "torch.Tensor"
    """``[N]`` long, equal for completions of the same prompt."""
    norm: Normaliser
    is_weights: "torch.Tensor | None" = None
    """``[N, T]`` truncated importance weights ``w_t`` (no grad), or None."""
    ref_logp: "torch.Tensor | None" = None
    """``[N, T]`` reference-policy log-probs, or None when ``beta == 0``."""


@dataclass(frozen=True)
class LossOutput:
    """The scalar loss plus sums for the metrics (divide by ``stats['tokens']``)."""

    loss: "torch.Tensor"
    stats: dict[str, float]


def _clipped_surrogate(ratio, adv, p: LossParams):
    """``-min(rho A, clip(rho, 1-eps_low, 1+eps_high) A)`` and the mask of clipped entries."""
    import torch

    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - p.clip_eps_low, 1.0 + p.clip_eps_high) * adv
    return -torch.minimum(unclipped, clipped), (clipped < unclipped)


def _token_terms(b: PolicyBatch, p: LossParams):
    """Per-token ``l_t`` (PPO clipped term times TIS weight plus KL), the KL, and the clip
    indicator."""
    ratio = (b.logp - b.old_logp).exp()
    pg, clipped = _clipped_surrogate(ratio, b.advantages.unsqueeze(-1), p)
    if b.is_weights is not None:
        pg = pg * b.is_weights
    kl = (
        kl_estimate(b.logp, b.ref_logp, p.kl_estimator)
        if b.ref_logp is not None and p.beta > 0
        else None
    )
    per_token = pg if kl is None else pg + p.beta * kl
    return per_token, kl, clipped


def _stats(b: PolicyBatch, kl, clipped) -> dict[str, float]:
    m = b.mask
    return {
        "tokens": float(m.sum()),
        "clipped": float((clipped.float() * m).sum()),
        "kl": float((kl.detach() * m).sum()) if kl is not None else 0.0,
    }


def _seq_mean(x, mask):
    return (x * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


def grpo_loss(b: PolicyBatch, p: LossParams) -> LossOutput:
    """GRPO (DeepSeekMath): mean over sequences of the token-mean.

    ``L = 1/N_seq * sum_i [ 1/|y_i| * sum_t m_t l_t ]``
    """
    per_token, kl, clipped = _token_terms(b, p)
    loss = _seq_mean(per_token, b.mask).sum() / b.norm.sequences
    return LossOutput(loss, _stats(b, kl, clipped))


def dr_grpo_loss(b: PolicyBatch, p: LossParams) -> LossOutput:
    """Dr. GRPO: no length normaliser per sequence; a constant one instead (and no std scaling of
    A).

    ``L = 1/(N_seq * L_max) * sum_i sum_t m_t l_t``
    """
    per_token, kl, clipped = _token_terms(b, p)
    loss = (per_token * b.mask).sum() / (b.norm.sequences * b.norm.max_new_tokens)
    return LossOutput(loss, _stats(b, kl, clipped))


def dapo_loss(b: PolicyBatch, p: LossParams) -> LossOutput:
    """DAPO: token-level mean over the whole batch, with asymmetric clipping
    (``eps_high > eps_low``).

    ``L = 1/sum_i |y_i| * sum_i sum_t m_t l_t``
    """
    per_token, kl, clipped = _token_terms(b, p)
    loss = (per_token * b.mask).sum() / b.norm.tokens
    return LossOutput(loss, _stats(b, kl, clipped))


def gspo_loss(b: PolicyBatch, p: LossParams) -> LossOutput:
    """GSPO: a sequence-level, length-normalised ratio clipped per sequence.

    ``s_i = exp(1/|y_i| * sum_t m_t (log pi - log pi_old))``,
    ``L = 1/N_seq * sum_i [ -min(s_i A_i, clip(s_i, 1-eps_low, 1+eps_high) A_i) * w_i + beta * KL_i
    ]`` with ``w_i`` the token-mean TIS weight and ``KL_i`` the token-mean KL.
    """
    seq_ratio = _seq_mean(b.logp - b.old_logp, b.mask).exp()
    pg, clipped = _clipped_surrogate(seq_ratio, b.advantages, p)
    if b.is_weights is not None:
        pg = pg * _seq_mean(b.is_weights, b.mask)
    kl = (
        kl_estimate(b.logp, b.ref_logp, p.kl_estimator)
        if b.ref_logp is not None and p.beta > 0
        else None
    )
    per_seq = pg if kl is None else pg + p.beta * _seq_mean(kl, b.mask)
    token_clipped = clipped.unsqueeze(-1).expand_as(b.mask)
    return LossOutput(per_seq.sum() / b.norm.sequences, _stats(b, kl, token_clipped))


def p3o_loss(b: PolicyBatch, p: LossParams) -> LossOutput:
    """P3O (pairwise proximal policy optimisation): clipped ratios of *pairs* of the same prompt.

    With sequence log-ratios ``q_i = sum_t m_t (log pi - log pi_old)`` and, for every ordered pair
    ``i != j`` of the same prompt, ``R_ij = exp(q_i - q_j)`` and ``A_ij = r_i - r_j``:

    ``L = 1/N_pairs * sum_{i != j} -min(R_ij A_ij, clip(R_ij, 1-eps_low, 1+eps_high) A_ij)
    + beta/N_seq * sum_i KL_i``

    Only reward differences enter, so a constant shift of every reward leaves the loss unchanged.
    Micro-batches must hold whole groups.
    """
    import torch

    q = ((b.logp - b.old_logp) * b.mask).sum(-1)
    same = (b.group_ids.unsqueeze(-1) == b.group_ids.unsqueeze(-2)) & ~torch.eye(
        len(q), dtype=torch.bool, device=q.device
    )
    pair_ratio = (q.unsqueeze(-1) - q.unsqueeze(-2)).exp()
    pg, clipped = _clipped_surrogate(pair_ratio, pairwise_advantages(b.rewards), p)
    # TIS: weight each pair by the token-mean weight of its first member
    if b.is_weights is not None:
        pg = pg * _seq_mean(b.is_weights, b.mask).unsqueeze(-1)
    loss = (pg * same).sum() / b.norm.pairs
    kl = (
        kl_estimate(b.logp, b.ref_logp, p.kl_estimator)
        if b.ref_logp is not None and p.beta > 0
        else None
    )
    if kl is not None:
        loss = loss + p.beta * _seq_mean(kl, b.mask).sum() / b.norm.sequences
    seq_clipped = (clipped & same).any(-1).unsqueeze(-1).expand_as(b.mask)
    return LossOutput(loss, _stats(b, kl, seq_clipped))


def sft_loss(logp: "torch.Tensor", mask: "torch.Tensor", sequences: int) -> "torch.Tensor":
    """Supervised (negative log-likelihood) loss on demonstrations, for hybrid SFT/RL.

    ``L_sft = 1/N_demo * sum_i [ -1/|y_i| * sum_t m_t log pi(t) ]``
    """
    return -_seq_mean(logp, mask).sum() / sequences


LossFn = Callable[[PolicyBatch, LossParams], LossOutput]


@dataclass(frozen=True)
class LossVariant:
    """One loss of :data:`LOSSES`: its function and what the rest of the trainer must do for it."""

    fn: LossFn
    whole_groups: bool = False
    """Micro-batches must hold whole groups (the loss compares the completions of one prompt)."""
    scales_by_std: bool = True
    """Advantages divide by the group's reward std unless ``scale_rewards`` says otherwise."""


LOSSES: dict[str, LossVariant] = {
    "grpo": LossVariant(grpo_loss),
    "dr_grpo": LossVariant(dr_grpo_loss, scales_by_std=False),  # Dr. GRPO removes the std scaling
    "dapo": LossVariant(dapo_loss),
    "gspo": LossVariant(gspo_loss),
    "p3o": LossVariant(p3o_loss, whole_groups=True),
}
"""Loss variants keyed by name (``GRPOConfig.loss``); the config's name checks are derived from
it."""


def get_loss(name: str) -> LossFn:
    """The loss function registered under ``name``; an unknown name raises with the known ones."""
    try:
        return LOSSES[name].fn
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
