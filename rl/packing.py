"""Episodes to padded tensors, and the policy's per-token log-probs on them.

A micro-batch is laid out on one grid: ``input_ids`` is ``[N, L]`` (right-padded prompt + episode
tokens); the per-token tensors are ``[N, W]`` where column ``j`` holds the log-prob of token
``start + j + 1`` given everything before it, with ``start = min(prompt lengths) - 1``. The mask
is 1 exactly on the policy's own tokens (not prompt, padding, or environment/tool tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

from .forward.shared_prefix import PromptGroup, shared_prefix_logits, worth_sharing
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
    prompts: tuple[PromptGroup, ...] = ()
    """Runs of consecutive rows that share their prompt (``rl.forward.shared_prefix`` reads each
    run's prompt once)."""

    @property
    def width(self) -> int:
        return self.mask.shape[1]


def pack(
    episodes: Sequence[Episode],
    advantages: Sequence[float],
    rewards: Sequence[float],
    group_ids: Sequence[int],
    pad_id: int,
    device: Any,
) -> Packed:
    """Pad ``episodes`` (prompt + tokens) to one grid; see the module docstring for the layout."""
    import torch

    full = [e.prompt_ids + e.tokens for e in episodes]
    length = max(len(x) for x in full)
    start = min(len(e.prompt_ids) for e in episodes) - 1
    width = length - 1 - start
    # one Python pass builds padded rows; each tensor is then made in a single call
    ids, attn, mask, sampler = [], [], [], []
    for e, seq in zip(episodes, full):
        first = len(e.prompt_ids) - 1 - start  # column predicting the first episode token
        tail = width - first - len(e.tokens)
        ids.append(seq + [pad_id] * (length - len(seq)))
        attn.append([1] * len(seq) + [0] * (length - len(seq)))
        mask.append([0.0] * first + [float(m) for m in e.loss_mask] + [0.0] * tail)
        sampler.append([0.0] * first + [float(x) for x in e.sampler_logprobs] + [0.0] * tail)
    return Packed(
        input_ids=torch.tensor(ids, dtype=torch.long, device=device),
        attention_mask=torch.tensor(attn, dtype=torch.long, device=device),
        start=start,
        mask=torch.tensor(mask, dtype=torch.float, device=device),
        sampler_logp=torch.tensor(sampler, dtype=torch.float, device=device),
        advantages=torch.tensor(list(advantages), dtype=torch.float, device=device),
        rewards=torch.tensor(list(rewards), dtype=torch.float, device=device),
        group_ids=torch.tensor(list(group_ids), dtype=torch.long, device=device),
        prompts=prompt_runs(episodes),
    )


class ScoredEpisode(NamedTuple):
    """One row of an RL micro-batch: an episode with its advantage, reward and group index."""

    episode: Episode
    advantage: float
    reward: float
    group: int


def pack_scored(rows: Sequence[ScoredEpisode], pad_id: int, device: Any) -> Packed:
    """:func:`pack` of scored episodes, one grid row each."""
    return pack(
        [r.episode for r in rows],
        [r.advantage for r in rows],
        [r.reward for r in rows],
        [r.group for r in rows],
        pad_id,
        device,
    )


def prompt_runs(episodes: Sequence[Episode]) -> tuple[PromptGroup, ...]:
    """Consecutive episodes with the same prompt ids, as
    :class:`~rl.forward.shared_prefix.PromptGroup` runs."""
    runs: list[PromptGroup] = []
    for row, e in enumerate(episodes):
        last = runs[-1] if runs else None
        before = episodes[row - 1].prompt_ids if row else None
        if last is not None and (e.prompt_ids is before or e.prompt_ids == before):
            runs[-1] = PromptGroup(last.start, last.rows + 1, last.prompt_len)
        else:
            runs.append(PromptGroup(row, 1, len(e.prompt_ids)))
    return tuple(runs)


def token_logprobs(model: Any, batch: Packed, temperature: float = 1.0, entropy: bool = False):
    """``(logp, entropy)`` on the batch grid: log-probs of the taken tokens at ``temperature``.

    ``entropy`` is the per-position entropy of the tempered distribution (no grad), or None.
    """
    import torch

    from .forward import llama

    keep = batch.input_ids.shape[1] - batch.start
    # rows are right-padded, so every real token already sees exactly its own prefix under the
    # causal mask alone; padding only follows it, and its outputs are masked out of every loss and
    # metric
    if llama.trainable(model) and worth_sharing(batch.prompts, batch.input_ids.shape[1]):
        # each prompt read once
        logits = shared_prefix_logits(model, batch.input_ids, keep, batch.prompts)[:, :-1]
    elif llama.trainable(model):  # the same maths without HF's per-call overhead (rl.forward.llama)
        logits = llama.causal_logits(model, batch.input_ids, keep)[:, :-1]
    else:
        # the mask changes no real token's output (padding only follows them); it tells HF models
        # the trailing pad ids are padding, so none warns about them
        logits = model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, logits_to_keep=keep
        ).logits[:, :-1]
    logits = logits.float() if temperature == 1.0 else logits.float() / temperature
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


def group_micro_batches(group_ids: Sequence[int], size: int) -> list[range]:
    """Index ranges of consecutive micro-batches of at most ``size`` that never split a run of equal
    ``group_ids`` (losses that compare completions of one prompt, P3O, need whole groups; a group
    larger than ``size`` gets a micro-batch of its own).

    >>> [list(r) for r in group_micro_batches([0, 0, 0, 1, 1, 1, 1, 2], 4)]
    [[0, 1, 2], [3, 4, 5, 6], [7]]
    """
    out: list[range] = []
    start = 0
    for i in range(1, len(group_ids) + 1):
        boundary = i == len(group_ids) or group_ids[i] != group_ids[i - 1]
        if not boundary:
            continue
        if out and i - out[-1].start <= size:
            out[-1] = range(out[-1].start, i)  # this group still fits in the open micro-batch
        else:
            out.append(range(start, i))
        start = i
    return out
