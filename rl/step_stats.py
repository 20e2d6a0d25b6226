"""The statistics one update gathers (sums over micro-batches), and the metrics they become.

>>> stats = StepStats(tokens=4.0, kl_sum=2.0, clipped=1.0, grad_norm=0.5)
>>> m = stats.metrics()
>>> m["kl"], m["clip_fraction"], m["grad_norm"]
(0.5, 0.25, 0.5)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from . import distributed as dist


@dataclass
class StepStats:
    """Sums over one update's micro-batches; divided by ``tokens`` where they are per token.

    A step with no update (nothing graded) keeps every field at 0.
    """

    loss: float = 0.0
    """Policy loss summed over micro-batches, averaged over the ``mu`` passes."""
    clipped: float = 0.0
    """Clipped tokens (the loss's count), averaged over the passes."""
    kl_sum: float = 0.0
    """Per-token KL to the reference summed over tokens, averaged over the passes."""
    sft_loss: float = 0.0
    """Hybrid SFT loss on the demonstrations, averaged over the passes."""
    tokens: float = 0.0
    """The policy's own tokens (first pass)."""
    gap_abs: float = 0.0
    """Sum of ``|log pi_old - log pi_sampler|`` over the tokens (first pass)."""
    gap_max: float = 0.0
    """Largest per-token sampler/trainer log-prob gap (first pass)."""
    sampler_nonfinite: float = 0.0
    """Tokens whose sampler log-prob is not finite (first pass)."""
    entropy: float = 0.0
    """Policy entropy summed over the tokens (first pass)."""
    grad_norm: float = 0.0
    """Gradient norm before clipping at the last optimiser step."""

    def add_first_pass(self, mb: Any, old: Any, ent: Any) -> None:
        """Add a micro-batch's token count, sampler gap and entropy (old log-probs ``old``)."""
        import torch

        m = mb.mask
        self.tokens += float(m.sum())
        finite = torch.isfinite(mb.sampler_logp)  # an engine may report NaN for a token: no gap
        gap = torch.where(finite, (old - mb.sampler_logp).abs(), 0.0) * m
        self.gap_abs += float(gap.sum())
        self.gap_max = max(self.gap_max, float(gap.max()) if gap.numel() else 0.0)
        self.sampler_nonfinite += float((~finite * m).sum())
        self.entropy += float((ent * m).sum()) if ent is not None else 0.0

    def add_loss(self, loss: float, loss_stats: Mapping[str, float], passes: int) -> None:
        """Add a micro-batch's policy loss and its ``clipped``/``kl`` sums (one of ``passes``)."""
        self.loss += loss / passes
        self.clipped += loss_stats["clipped"] / passes
        self.kl_sum += loss_stats["kl"] / passes

    def all_reduce(self, device: str) -> StepStats:
        """The sums over every rank (``gap_max``: the maximum; ``grad_norm`` is already the same on
        all). The tensors sit on the training device: NCCL reduces CUDA tensors only."""
        import torch

        names = [f.name for f in dataclasses.fields(self) if f.name not in _NOT_SUMMED]
        values = [getattr(self, name) for name in names]
        summed = dist.all_reduce_sum(torch.tensor(values, dtype=torch.float64, device=device))
        peak = dist.all_reduce_max(torch.tensor([self.gap_max], dtype=torch.float64, device=device))
        return StepStats(
            **dict(zip(names, summed.tolist())), gap_max=float(peak[0]), grad_norm=self.grad_norm
        )

    def metrics(self) -> dict[str, Any]:
        """The logged metrics (per-token ones divided by the token count, at least 1)."""
        tokens = max(1.0, self.tokens)
        return {
            "kl": self.kl_sum / tokens,
            "clip_fraction": self.clipped / tokens,
            "entropy": self.entropy / tokens,
            "loss": self.loss,
            "sft_loss": self.sft_loss,
            "grad_norm": self.grad_norm,
            "logprob_gap": self.gap_abs / tokens,
            "logprob_gap_max": self.gap_max,
            "sampler_logprob_nonfinite": int(self.sampler_nonfinite),
        }


_NOT_SUMMED = frozenset({"gap_max", "grad_norm"})
