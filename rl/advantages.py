"""Advantage estimators and reward shaping: small pure tensor functions over ``[groups, G]``
rewards.

>>> import torch
>>> group_advantages(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), scale=False).tolist()
[[0.5, -0.5], [0.0, 0.0]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch


def group_advantages(
    rewards: "torch.Tensor",
    scale: bool = True,
    eps: float = 1e-6,
    graded: "torch.Tensor | None" = None,
) -> "torch.Tensor":
    """GRPO group-relative advantages.

    ``A_i = (r_i - mean(r)) / std(r)`` within each row (one prompt's G rewards), or
    ``A_i = r_i - mean(r)`` when ``scale`` is False (Dr. GRPO). ``std`` is the unbiased sample std,
    as in DeepSeekMath and TRL. A group whose rewards are all equal (std below ``eps``) gets
    advantage exactly 0 everywhere, never NaN.

    ``graded`` (bool, same shape) marks the episodes whose reward was judged; the others (a verdict
    of ``timeout`` or ``error``: "could not run") get advantage 0 and enter neither the mean nor the
    std, so they are never scored as wrong. A group with fewer than 2 graded episodes gets 0.

    >>> import torch
    >>> advantages = group_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0]]))  # std 0.5774
    >>> [round(a, 4) for a in advantages[0].tolist()]
    [0.866, -0.866, -0.866, 0.866]
    >>> group_advantages(torch.tensor([[1.0, 0.0, 0.0]]), scale=False,
    ...                  graded=torch.tensor([[True, True, False]])).tolist()
    [[0.5, -0.5, 0.0]]
    """
    import torch

    if graded is not None and not bool(graded.all()):
        return _masked_group_advantages(rewards, graded, scale, eps)
    centered = rewards - rewards.mean(dim=-1, keepdim=True)
    if not scale:
        return centered
    std = rewards.std(dim=-1, keepdim=True)
    flat = std < eps
    return torch.where(
        flat, torch.zeros_like(centered), centered / torch.where(flat, torch.ones_like(std), std)
    )


def _masked_group_advantages(
    rewards: "torch.Tensor", graded: "torch.Tensor", scale: bool, eps: float
) -> "torch.Tensor":
    """:func:`group_advantages` over the graded entries of each row only (the rest get 0)."""
    import torch

    mask = graded.to(rewards.dtype)
    count = mask.sum(dim=-1, keepdim=True)
    mean = (rewards * mask).sum(dim=-1, keepdim=True) / count.clamp(min=1.0)
    centered = torch.where(graded, rewards - mean, torch.zeros_like(rewards))
    usable = count >= 2
    if scale:
        std = ((centered**2).sum(dim=-1, keepdim=True) / (count - 1).clamp(min=1.0)).sqrt()
        usable = usable & (std >= eps)
        centered = centered / torch.where(usable, std, torch.ones_like(std))
    return torch.where(usable, centered, torch.zeros_like(centered))


def pairwise_advantages(rewards: "torch.Tensor") -> "torch.Tensor":
    """P3O pairwise advantages: ``A[..., i, j] = r_i - r_j`` for every pair of the same prompt.

    Only reward differences enter, so adding a constant to every reward changes nothing.

    >>> import torch
    >>> pairwise_advantages(torch.tensor([[1.0, 0.0]])).tolist()
    [[[0.0, 1.0], [-1.0, 0.0]]]
    """
    return rewards.unsqueeze(-1) - rewards.unsqueeze(-2)


def zero_std_fraction(
    rewards: "torch.Tensor", eps: float = 1e-6, graded: "torch.Tensor | None" = None
) -> float:
    """Fraction of groups (rows) whose rewards are all equal: they carry no learning signal.

    With ``graded``, only graded entries count, and a row with fewer than 2 of them carries no
    signal either.

    >>> import torch
    >>> zero_std_fraction(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    0.5
    """
    if rewards.numel() == 0:
        return 0.0
    if graded is not None and not bool(graded.all()):
        rows = [row[keep] for row, keep in zip(rewards, graded)]
        return sum(len(r) < 2 or float(r.std()) < eps for r in rows) / len(rows)
    return float((rewards.std(dim=-1) < eps).float().mean()) if rewards.shape[-1] > 1 else 1.0


def overlong_penalty(
    lengths: "torch.Tensor", max_tokens: int, buffer: int, penalty: float = 1.0
) -> "torch.Tensor":
    """DAPO soft overlong punishment, to be added to the reward.

    ``0`` for ``L <= max_tokens - buffer``; ``-penalty * (L - (max_tokens - buffer)) / buffer``
    inside the buffer (reaching ``-penalty`` at ``L = max_tokens``); ``-penalty`` beyond.
    ``buffer == 0`` disables it.

    >>> import torch
    >>> overlong_penalty(torch.tensor([2, 3, 4]), max_tokens=4, buffer=2).tolist()
    [0.0, -0.5, -1.0]
    """
    import torch

    if buffer <= 0:
        return torch.zeros(lengths.shape, dtype=torch.float32)
    over = (lengths.float() - (max_tokens - buffer)).clamp(min=0.0) / buffer
    return torch.zeros_like(over) - penalty * over.clamp(max=1.0)
