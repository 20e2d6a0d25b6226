"""The training forward with each group's prompt read once (shared-prefix), for Llama-architecture
models.

In GRPO the G completions of a prompt share it token for token, yet a plain forward reads the
prompt G times. :func:`shared_prefix_logits` runs the prompts once (``B`` rows), keeps every
layer's keys and values, and runs the completions (``N`` rows) against them: a completion token
attends to its group's prompt (fanned out by index, so gradients from all G rows flow back into
the one prompt pass) and causally to its own earlier tokens. The maths is the full causal forward's;
it returns what :func:`~rl.forward.llama.causal_logits` returns on the same right-padded rows
(tested, with prompts of different lengths in one batch).

It pays where prompts are long next to completions; :func:`worth_sharing` decides from the
positions saved (the tiny-model tests and benchmark keep the plain forward).

>>> groups = [PromptGroup(start=0, rows=8, prompt_len=300),
...           PromptGroup(start=8, rows=8, prompt_len=280)]
>>> worth_sharing(groups, total_len=500)     # 16 x 500 positions vs 2 x 300 + 16 x 220
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .llama import Dims, _layer_plan, _rms, block

#: Share prompts only when the prompt and completion passes together read at most this fraction
#: of the positions a plain forward reads (the extra pass costs a second walk through the layers).
MAX_SHARED_FRACTION = 0.75


@dataclass(frozen=True)
class PromptGroup:
    """Consecutive rows ``start .. start + rows - 1`` whose first ``prompt_len`` tokens are
    identical."""

    start: int
    rows: int
    prompt_len: int


def worth_sharing(groups: Sequence[PromptGroup], total_len: int) -> bool:
    """True when reading each prompt once saves enough positions to pay for the extra pass."""
    rows = sum(g.rows for g in groups)
    if not groups or rows == len(groups):
        return False
    shortest, longest = min(g.prompt_len for g in groups), max(g.prompt_len for g in groups)
    if total_len <= shortest:  # no completion token anywhere: nothing to run against the prompts
        return False
    shared = len(groups) * longest + rows * (total_len - shortest)
    return shared <= MAX_SHARED_FRACTION * rows * total_len


def shared_prefix_logits(
    model: Any, input_ids: Any, keep: int, groups: Sequence[PromptGroup]
) -> Any:
    """Logits ``[N, keep, vocab]`` of the last ``keep`` positions, as
    :func:`~rl.forward.llama.causal_logits`.

    ``input_ids`` ``[N, L]`` are right-padded rows (prompt then completion); ``groups`` cover the
    rows in order; ``keep = L - min(prompt_len) + 1`` (the grid of :func:`rl.packing.pack`).
    Positions a row's prompt still covers (where its prompt is longer than the shortest) hold its
    last prompt position's logits: they are masked out of every loss.
    """
    import torch
    import torch.nn.functional as F

    dims = Dims(model)
    device, (N, L) = input_ids.device, input_ids.shape
    lens = torch.tensor([g.prompt_len for g in groups], device=device)
    rows = torch.tensor([g.rows for g in groups], device=device)
    # row -> its group
    owner = torch.repeat_interleave(torch.arange(len(groups), device=device), rows)
    longest, shortest = int(lens.max()), int(lens.min())
    # tokens past a prompt's end are never attended
    prompts = input_ids[[g.start for g in groups], :longest]
    cached, last = _prompt_pass(model, dims, prompts, lens)
    suffix_len = L - shortest
    at = lens[owner, None] + torch.arange(suffix_len, device=device)  # [N, S] absolute positions
    # beyond the row: filler, never read
    ids = input_ids.gather(1, at.clamp(max=L - 1)).masked_fill(at >= L, 0)
    h = _completion_pass(model, dims, ids, at, cached, lens, owner)
    hidden = torch.cat([last[owner].unsqueeze(1), h], dim=1)  # index k: position prompt_len - 1 + k
    shift = (lens[owner] - shortest).unsqueeze(1)
    # grid column c: position shortest - 1 + c
    index = (torch.arange(keep, device=device) - shift).clamp(min=0)
    hidden = hidden.gather(1, index.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
    inner = model.model
    return F.linear(
        _rms(hidden, inner.norm.weight, dims.eps), model.lm_head.weight, model.lm_head.bias
    )


def _prompt_pass(model: Any, dims: Dims, prompts: Any, lens: Any):
    """Each prompt once: every layer's keys/values ``[B, kv_heads, P, head_dim]`` and the hidden
    state at each prompt's last position ``[B, hidden]``."""
    import torch
    import torch.nn.functional as F

    inner = model.model
    B, P = prompts.shape
    h = F.embedding(prompts, inner.embed_tokens.weight, inner.embed_tokens.padding_idx)
    cos, sin = inner.rotary_emb(h, torch.arange(P, device=prompts.device).unsqueeze(0))
    cos, sin, cached = cos.unsqueeze(1), sin.unsqueeze(1), []
    for layer in inner.layers:

        def attend(q, k, v, scale):
            cached.append((k, v))
            return F.scaled_dot_product_attention(
                q, k, v, is_causal=True, scale=scale, enable_gqa=dims.gqa
            )

        h = block(_layer_plan(layer), h, cos, sin, dims, attend)
    return cached, h[torch.arange(B, device=prompts.device), lens - 1]


def _completion_pass(
    model: Any, dims: Dims, ids: Any, at: Any, cached: list, lens: Any, owner: Any
) -> Any:
    """The completion rows ``[N, S]`` at absolute positions ``at``, attending to their group's
    prompt (key positions below its length) and causally to themselves."""
    import torch
    import torch.nn.functional as F

    inner = model.model
    N, S = ids.shape
    P = cached[0][0].shape[2]
    h = F.embedding(ids, inner.embed_tokens.weight, inner.embed_tokens.padding_idx)
    cos, sin = inner.rotary_emb(h, at)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    prompt_keys = torch.arange(P, device=ids.device) < lens[owner, None]  # [N, P]
    causal = torch.ones(S, S, dtype=torch.bool, device=ids.device).tril()
    mask = torch.cat(
        [prompt_keys[:, None, :].expand(N, S, P), causal.expand(N, S, S)], dim=-1
    ).unsqueeze(1)
    for layer, (pk, pv) in zip(inner.layers, cached):

        def attend(q, k, v, scale, pk=pk, pv=pv):
            keys, values = torch.cat([pk[owner], k], dim=2), torch.cat([pv[owner], v], dim=2)
            return F.scaled_dot_product_attention(
                q, keys, values, attn_mask=mask, scale=scale, enable_gqa=dims.gqa
            )

        h = block(_layer_plan(layer), h, cos, sin, dims, attend)
    return h
