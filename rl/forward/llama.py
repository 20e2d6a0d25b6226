"""Hand-written forwards for Llama-architecture transformers models (Llama, Qwen2): a sampling
decoder on a static KV cache and the trainer's training forward.

On small models the cost of one HF forward is mostly per-call bookkeeping (mask building, cache
objects, output dataclasses, module hooks), not arithmetic. :class:`LeanDecoder` runs the same
maths on the model's own weights with ``torch.nn.functional`` calls, on a key/value cache allocated
once per ``generate`` call; q/k/v and gate/up are concatenated once per decoder (so each is one
matmul, and q and k are rotated in one go), and the LM head runs on the last position only.
Tested to give HF's tokens and log-probs (bit-identical in our float32 measurements).

:class:`LeanDecoder` samples (under ``torch.inference_mode``); :func:`causal_logits` is the
trainer's training forward (the same maths over whole right-padded rows, with autograd), tested
to give HF's logits and gradients. The sampler/trainer log-prob gap the trainer logs compares the
two on every step. Models they do not cover (other architectures, sliding windows, non-default
RoPE, gradient checkpointing) keep HF's path (:func:`supports`, :func:`trainable`).

>>> dec = LeanDecoder(model, batch=8, max_len=16)           # doctest: +SKIP
>>> logits = dec.step(ids, positions, key_mask=None)        # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

_ARCHES = ("llama", "qwen2")


def supports(model: Any) -> bool:
    """True when :class:`LeanDecoder` reproduces ``model``'s forward (else use HF's)."""
    cfg = getattr(model, "config", None)
    inner = getattr(model, "model", None)
    if cfg is None or inner is None or getattr(cfg, "model_type", None) not in _ARCHES:
        return False
    rope = getattr(cfg, "rope_parameters", None) or {}
    layer_types = getattr(cfg, "layer_types", None) or ()
    if any(kind != "full_attention" for kind in layer_types):  # sliding-window layers: HF's masks
        return False
    return (
        rope.get("rope_type", "default") == "default"
        and getattr(cfg, "hidden_act", "") == "silu"
        and not getattr(cfg, "use_sliding_window", False)
        and getattr(cfg, "pretraining_tp", 1) == 1
        and hasattr(inner, "rotary_emb")
        and hasattr(inner, "layers")
        and hasattr(model, "lm_head")
    )


class LeanDecoder:
    """Forward passes of ``model`` for ``batch`` rows and at most ``max_len`` positions, with a
    static cache."""

    def __init__(self, model: Any, batch: int, max_len: int) -> None:
        import torch

        cfg, inner = model.config, model.model
        self.model, self.layers, self.length = model, list(inner.layers), 0
        self.heads = cfg.num_attention_heads
        self.kv_heads = getattr(cfg, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        self.eps = cfg.rms_norm_eps
        weight = inner.embed_tokens.weight
        shape = (batch, self.kv_heads, max_len, self.head_dim)
        self.keys = [
            torch.empty(shape, dtype=weight.dtype, device=weight.device) for _ in self.layers
        ]
        self.values = [
            torch.empty(shape, dtype=weight.dtype, device=weight.device) for _ in self.layers
        ]
        positions = torch.arange(max_len, device=weight.device).unsqueeze(0)
        # HF's own tables, same numerics
        cos, sin = inner.rotary_emb(weight[:1].unsqueeze(0), positions)
        self.cos, self.sin = cos[0], sin[0]
        # q/k/v (and rotated q/k) and gate/up as one matmul each (weights as they are now)
        with torch.no_grad():
            self.plan = [_layer_plan(layer, self.head_dim) for layer in self.layers]
        self.embed, self.norm, self.head = weight, inner.norm.weight, model.lm_head
        qk = (self.heads + self.kv_heads) * self.head_dim
        self.split = (qk, qk, self.kv_heads * self.head_dim)  # q|k, rotate_half(q|k), v

    def repeat_rows(self, n: int) -> None:
        """Give every cached row ``n`` adjacent copies (row ``i`` becomes rows ``i*n .. i*n+n-1``).

        Used after prefilling each distinct prompt once, before sampling ``n`` continuations of
        each.
        """
        if n != 1:
            self.keys = [k.repeat_interleave(n, 0) for k in self.keys]
            self.values = [v.repeat_interleave(n, 0) for v in self.values]

    def keep_rows(self, index: Any) -> None:
        """Keep only the cached rows ``index`` (a 1-D tensor of row numbers), in that order."""
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]

    def step(self, ids: Any, positions: Any, key_mask: Any = None) -> Any:
        """Logits ``[B, vocab]`` at the last of ``ids`` ``[B, T]`` (appended to the cache).

        ``positions`` ``[B, T]`` are the rotary positions (None: every row continues at the cache
        length, so the tables are sliced instead of gathered); ``key_mask`` ``[B, length + T]``
        (bool, True = a real token) hides left padding, or is None when there is none.
        """
        import torch.nn.functional as F

        T = ids.shape[1]
        start, self.length = self.length, self.length + T
        if positions is None:
            cos, sin = (
                self.cos[None, None, start : self.length],
                self.sin[None, None, start : self.length],
            )
        else:
            cos, sin = self.cos[positions].unsqueeze(1), self.sin[positions].unsqueeze(1)
        mask = _attention_mask(key_mask, start, T, ids.device)
        h = F.embedding(ids, self.embed)
        for i, (ln1, qkv_w, qkv_b, o_w, o_b, ln2, up_w, up_b, down_w, down_b, scale) in enumerate(
            self.plan
        ):
            x = F.linear(_rms(h, ln1, self.eps), qkv_w, qkv_b)
            h = h + F.linear(self._attention(x, i, start, cos, sin, mask, scale), o_w, o_b)
            gate, up = F.linear(_rms(h, ln2, self.eps), up_w, up_b).chunk(2, dim=-1)
            h = h + F.linear(F.silu(gate) * up, down_w, down_b)
        return F.linear(_rms(h[:, -1], self.norm, self.eps), self.head.weight, self.head.bias)

    def _attention(
        self, qkv: Any, layer: int, start: int, cos: Any, sin: Any, mask: Any, scale: float
    ) -> Any:
        import torch.nn.functional as F

        B, T, _ = qkv.shape
        qk, turned, v = (
            x.view(B, T, -1, self.head_dim).transpose(1, 2) for x in qkv.split(self.split, dim=-1)
        )
        q, k = (qk * cos + turned * sin).split((self.heads, self.kv_heads), dim=1)
        self.keys[layer][:, :, start : self.length] = k
        self.values[layer][:, :, start : self.length] = v
        keys, values = (
            self.keys[layer][:, :, : self.length],
            self.values[layer][:, :, : self.length],
        )
        # no padding: the plain causal mask at prefill
        causal = mask is None and T > 1 and start == 0
        out = F.scaled_dot_product_attention(
            q,
            keys,
            values,
            attn_mask=mask,
            is_causal=causal,
            scale=scale,
            enable_gqa=self.kv_heads != self.heads,
        )
        return out.transpose(1, 2).reshape(B, T, -1)


def _layer_plan(layer: Any, rotated_head_dim: int = 0) -> tuple:
    """One decoder layer's tensors: fused q/k/v and gate/up weights (and biases, or None).

    With ``rotated_head_dim`` the fused projection is
    ``q | k | rotate_half(q) | rotate_half(k) | v``: rotating a projection's output rows (a signed
    permutation) rotates its output exactly, so RoPE needs two multiplies and an add instead of
    slicing and concatenating activations every step.
    """
    import torch

    attn, mlp = layer.self_attn, layer.mlp

    def fused(*mods):
        bias = None if mods[0].bias is None else torch.cat([m.bias for m in mods])
        return torch.cat([m.weight for m in mods]), bias

    if rotated_head_dim:
        qk_w, qk_b = fused(attn.q_proj, attn.k_proj)
        v = attn.v_proj
        qkv_w = torch.cat([qk_w, _turn_rows(qk_w, rotated_head_dim), v.weight])
        qkv_b = (
            None if qk_b is None else torch.cat([qk_b, _turn_rows(qk_b, rotated_head_dim), v.bias])
        )
    else:
        qkv_w, qkv_b = fused(attn.q_proj, attn.k_proj, attn.v_proj)
    up_w, up_b = fused(mlp.gate_proj, mlp.up_proj)
    return (
        layer.input_layernorm.weight,
        qkv_w,
        qkv_b,
        attn.o_proj.weight,
        attn.o_proj.bias,
        layer.post_attention_layernorm.weight,
        up_w,
        up_b,
        mlp.down_proj.weight,
        mlp.down_proj.bias,
        attn.scaling,
    )


def _turn_rows(t: Any, head_dim: int) -> Any:
    """``rotate_half`` applied to the output rows of a projection (weight ``[n * head_dim, in]`` or
    bias) per head: row ``j`` becomes ``-row[j + half]`` in the first half of a head,
    ``row[j - half]`` in the second."""
    import torch

    x = t.reshape(-1, head_dim, *t.shape[1:])
    half = head_dim // 2
    return torch.cat((-x[:, half:], x[:, :half]), dim=1).reshape(t.shape)


def causal_logits(model: Any, input_ids: Any, keep: int) -> Any:
    """Logits ``[B, keep, vocab]`` of the last ``keep`` positions of a full causal forward, with
    autograd.

    The training-side twin of :class:`LeanDecoder`: no cache, no padding mask (rows are
    right-padded, so every real token sees exactly its prefix under the causal mask), LM head on the
    kept positions only. Equals ``model(input_ids=..., logits_to_keep=keep).logits`` (tested); use
    where :func:`supports` and :func:`trainable` say so.
    """
    import torch
    import torch.nn.functional as F

    dims, inner = Dims(model), model.model
    # no grad to padding
    h = F.embedding(input_ids, inner.embed_tokens.weight, inner.embed_tokens.padding_idx)
    cos, sin = inner.rotary_emb(
        h, torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
    )
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)

    def attend(q, k, v, scale):
        return F.scaled_dot_product_attention(
            q, k, v, is_causal=True, scale=scale, enable_gqa=dims.gqa
        )

    for layer in inner.layers:
        h = block(_layer_plan(layer), h, cos, sin, dims, attend)
    return F.linear(
        _rms(h[:, -keep:], inner.norm.weight, dims.eps), model.lm_head.weight, model.lm_head.bias
    )


class Dims:
    """A model's attention shape: heads, key/value heads, head size, fused q/k/v split, norm
    epsilon."""

    def __init__(self, model: Any) -> None:
        cfg = model.config
        self.heads = cfg.num_attention_heads
        self.kv_heads = getattr(cfg, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        self.split = (
            self.heads * self.head_dim,
            self.kv_heads * self.head_dim,
            self.kv_heads * self.head_dim,
        )
        self.eps = cfg.rms_norm_eps
        self.gqa = self.kv_heads != self.heads


def block(plan: tuple, h: Any, cos: Any, sin: Any, dims: Dims, attend: Any) -> Any:
    """One decoder layer (pre-norm attention, SwiGLU MLP) on ``h`` ``[B, T, hidden]`` with autograd;
    ``attend(q, k, v, scale)`` supplies the attention (plain causal, or against cached prompt
    keys)."""
    import torch.nn.functional as F

    ln1, qkv_w, qkv_b, o_w, o_b, ln2, up_w, up_b, down_w, down_b, scale = plan
    B, T, _ = h.shape
    q, k, v = _rotary_qkv(
        F.linear(_rms(h, ln1, dims.eps), qkv_w, qkv_b), dims.split, dims.head_dim, cos, sin
    )
    h = h + F.linear(attend(q, k, v, scale).transpose(1, 2).reshape(B, T, -1), o_w, o_b)
    gate, up = F.linear(_rms(h, ln2, dims.eps), up_w, up_b).chunk(2, dim=-1)
    return h + F.linear(F.silu(gate) * up, down_w, down_b)


def trainable(model: Any) -> bool:
    """True when :func:`causal_logits` may replace ``model``'s forward in training (no dropout, no
    checkpointing)."""
    cfg = model.config
    dropout = model.training and getattr(cfg, "attention_dropout", 0.0) > 0
    inner = getattr(model, "model", None)
    # where HF sets the flag (model or decoder layers)
    mods = [model, inner, *getattr(inner, "layers", ())]
    checkpointing = any(getattr(m, "gradient_checkpointing", False) is True for m in mods)
    return supports(model) and not dropout and not checkpointing


def _attention_mask(key_mask: Any, start: int, T: int, device: Any) -> Any:
    """Boolean ``[B, 1, T, start + T]`` mask (causal and key padding), or None when SDPA needs
    none."""
    import torch

    if key_mask is None:
        if T == 1 or start == 0:
            return None
        key_mask = torch.ones(1, start + T, dtype=torch.bool, device=device)
    causal = torch.ones(T, start + T, dtype=torch.bool, device=device).tril(start)
    own = torch.zeros_like(causal)
    # a padding query sees itself: no NaN rows
    own[:, start:] = torch.eye(T, dtype=torch.bool, device=device)
    return ((causal.unsqueeze(0) & key_mask[:, None, :]) | own).unsqueeze(1)


def _rms(x: Any, weight: Any, eps: float) -> Any:
    """HF's RMSNorm (float32 statistics) as one fused op where the input is float32, else op for
    op."""
    import torch
    import torch.nn.functional as F

    if x.dtype == torch.float32 and weight.dtype == torch.float32:
        return F.rms_norm(x, weight.shape, weight, eps)
    x32 = x.float()
    x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * x32.to(x.dtype)


def _rotary_qkv(qkv: Any, split: tuple, head_dim: int, cos: Any, sin: Any) -> tuple:
    """Split a fused q/k/v projection ``[B, T, *]`` into ``[B, heads, T, head_dim]`` tensors,
    rotating q and k together (they are adjacent columns, so one rotation covers both)."""
    B, T, _ = qkv.shape
    qk, v = qkv.split((split[0] + split[1], split[2]), dim=-1)
    qk = qk.view(B, T, -1, head_dim).transpose(1, 2)
    qk = qk * cos + _rotate_half(qk) * sin
    q, k = qk.split((split[0] // head_dim, split[1] // head_dim), dim=1)
    return q, k, v.view(B, T, -1, head_dim).transpose(1, 2)


def _rotate_half(x: Any) -> Any:
    import torch

    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
