"""Per-token KL estimators between the policy and a frozen reference (Schulman, "Approximating KL").

With ``log r = log pi_ref(t) - log pi(t)`` for a token ``t`` sampled from ``pi``:

- ``k1 = -log r``                    unbiased, high variance, can be negative;
- ``k2 = (log r)^2 / 2``             biased, low variance, always >= 0;
- ``k3 = (r - 1) - log r``           unbiased, low variance, always >= 0 (DeepSeekMath's choice).

>>> import torch
>>> kl_estimate(torch.tensor([0.0]), torch.tensor([0.0]), "k3").tolist()
[0.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    import torch


def k1(logp: "torch.Tensor", ref_logp: "torch.Tensor") -> "torch.Tensor":
    """``k1 = log pi - log pi_ref``."""
    return logp - ref_logp


def k2(logp: "torch.Tensor", ref_logp: "torch.Tensor") -> "torch.Tensor":
    """``k2 = (log pi_ref - log pi)^2 / 2``."""
    return 0.5 * (ref_logp - logp) ** 2


def k3(logp: "torch.Tensor", ref_logp: "torch.Tensor") -> "torch.Tensor":
    """``k3 = exp(log pi_ref - log pi) - 1 - (log pi_ref - log pi)``."""
    log_ratio = ref_logp - logp
    return log_ratio.exp() - 1.0 - log_ratio


KL_ESTIMATORS: dict[str, Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]] = {
    "k1": k1,
    "k2": k2,
    "k3": k3,
}
"""Estimators keyed by name (``GRPOConfig.kl_estimator``)."""


def kl_estimate(
    logp: "torch.Tensor", ref_logp: "torch.Tensor", estimator: str = "k3"
) -> "torch.Tensor":
    """Per-token KL estimate by name; an unknown name raises with the known ones."""
    try:
        fn = KL_ESTIMATORS[estimator]
    except KeyError:
        raise ValueError(
            f"unknown KL estimator {estimator!r}; choose one of {sorted(KL_ESTIMATORS)}"
        ) from None
    return fn(logp, ref_logp)
