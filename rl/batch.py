"""Episodes to padded tensors, and the policy's per-token log-probs on them.

A micro-batch is laid out on one grid: ``input_ids`` is ``[N, L]`` (right-padded prompt + episode
tokens); the per-token tensors are ``[N, W]`` where column ``j`` holds the log-prob of token
``start + j + 1`` given everything before it, with ``start = min(prompt lengths) - 1``. The mask
is 1 exactly on the policy's own tokens (not prompt, padding, or environment/tool tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .rollout import Episode


@dataclass
class Packed:
    """One micro-batch of episodes as tensors on the training device."""

    input_ids: Any
    attention_mask: Any
    start: int
    mask: Any
    sampler_logp: Any
    advantages: Any
    rewards: Any
    group_ids: Any

    @property
    def width(self) -> int:
        return self.mask.shape[1]


def pack(episodes: Sequence[Episode], advantages: Sequence[float], rewards: Sequence[float],
         group_ids: Sequence[int], pad_id: int, device: Any) -> Packed:
    """Pad ``episodes`` (prompt + tokens) to one grid; see the module docstring for the layout."""
    import torch

    full = [e.prompt_ids + e.tokens for e in episodes]
    length = max(len(x) for x in full)
    start = min(len(e.prompt_ids) for e in episodes) - 1
    width = length - 1 - start
    ids = torch.full((len(full), length), pad_id, dtype=torch.long)
    attn = torch.zeros((len(full), length), dtype=torch.long)
    mask = torch.zeros((len(full), width))
    sampler = torch.zeros((len(full), width))
    for i, (e, seq) in enumerate(zip(episodes, full)):
        ids[i, : len(seq)] = torch.tensor(seq)
        attn[i, : len(seq)] = 1
        first = len(e.prompt_ids) - 1 - start  # column predicting the first episode token
        n = len(e.tokens)
        mask[i, first : first + n] = torch.tensor(e.loss_mask, dtype=torch.float)
        sampler[i, first : first + n] = torch.tensor(e.sampler_logprobs, dtype=torch.float)
    return Packed(
        input_ids=ids.to(device), attention_mask=attn.to(device), start=start, mask=mask.to(device),
        sampler_logp=sampler.to(device), advantages=torch.tensor(list(advantages), dtype=torch.float, device=device),
        rewards=torch.tensor(list(rewards), dtype=torch.float, device=device),
        group_ids=torch.tensor(list(group_ids), dtype=torch.long, device=device),
    )


def token_logprobs(model: Any, batch: Packed, temperature: float = 1.0, entropy: bool = False):
    """``(logp, entropy)`` on the batch grid: log-probs of the taken tokens at ``temperature``.

    ``entropy`` is the per-position entropy of the tempered distribution (no grad), or None.
    """
    import torch

    length = batch.input_ids.shape[1]
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                   logits_to_keep=length - batch.start).logits[:, :-1]
    logits = logits.float() / temperature
    targets = batch.input_ids[:, batch.start + 1 :]
    logp_all = torch.log_softmax(logits, dim=-1)
    logp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    ent = None
    if entropy:
        with torch.no_grad():
            ent = -(logp_all.exp() * logp_all).sum(-1)
    return logp, ent


def micro_batches(n: int, size: int) -> list[range]:
    """Index ranges of consecutive micro-batches of at most ``size``."""
    return [range(i, min(i + size, n)) for i in range(0, n, size)]
