"""``rl.forward.shared_prefix``: reading each group's prompt once gives the plain causal forward's
logits and gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rl.forward import llama  # noqa: E402
from rl.forward.shared_prefix import PromptGroup, shared_prefix_logits, worth_sharing  # noqa: E402
from rl.tiny import build_char_tokenizer  # noqa: E402

VARIANTS = [("llama", 4, False), ("llama", 2, True), ("qwen2", 2, False)]


def _model(arch, kv_heads, tied):
    tok = build_char_tokenizer("0123456789+=?")
    cls = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[arch]
    cfg = cls(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=kv_heads,
        max_position_embeddings=64,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=tied,
    )
    torch.manual_seed(1)
    return transformers.AutoModelForCausalLM.from_config(cfg).train(), tok


def _rows(groups, completion_lens, width, pad, vocab, seed=0):
    """Right-padded rows: each group's prompt repeated over its rows, then a random completion per
    row."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.full((sum(g.rows for g in groups), width), pad)
    mask = torch.zeros_like(ids, dtype=torch.float)
    for g in groups:
        prompt = torch.randint(4, vocab, (g.prompt_len,), generator=gen)
        for r in range(g.start, g.start + g.rows):
            n = completion_lens[r]
            ids[r, : g.prompt_len] = prompt
            ids[r, g.prompt_len : g.prompt_len + n] = torch.randint(4, vocab, (n,), generator=gen)
            mask[r, g.prompt_len - 1 : g.prompt_len - 1 + n] = (
                1.0  # positions that predict completion tokens
            )
    return ids, mask


@pytest.mark.parametrize("arch,kv_heads,tied", VARIANTS)
@pytest.mark.parametrize(
    "lens", [(5, 5, 5), (3, 7, 5)], ids=["same-prompt-length", "mixed-prompt-lengths"]
)
def test_shared_prefix_matches_the_plain_forward(arch, kv_heads, tied, lens):
    model, tok = _model(arch, kv_heads, tied)
    groups = [PromptGroup(start=3 * i, rows=3, prompt_len=p) for i, p in enumerate(lens)]
    completion = [4, 2, 6, 1, 5, 3, 6, 2, 4]
    width = max(
        g.prompt_len + completion[r] for g in groups for r in range(g.start, g.start + g.rows)
    )
    ids, mask = _rows(groups, completion, width, tok.pad_token_id, len(tok))
    start = min(lens) - 1
    keep, used = width - start, mask[:, start:]
    results = []
    shared_forward = lambda: shared_prefix_logits(model, ids, keep, groups)  # noqa: E731
    for forward in (shared_forward, lambda: llama.causal_logits(model, ids, keep)):
        model.zero_grad(set_to_none=True)
        logits = forward()
        targets = torch.cat(
            [ids[:, start + 1 :], torch.zeros(len(ids), 1, dtype=torch.long)], dim=1
        )
        logp = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        (logp * used).sum().backward()
        results.append((logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (shared, g_shared), (plain, g_plain) = results
    assert shared.shape == plain.shape == (len(ids), keep, len(tok))
    real = used.bool()
    assert torch.allclose(shared[real], plain[real], atol=1e-5)
    for name in g_plain:
        assert torch.allclose(g_shared[name], g_plain[name], atol=1e-5, rtol=1e-4), name


def test_sharing_is_chosen_only_where_it_saves_enough():
    long_prompts = [PromptGroup(0, 8, 64), PromptGroup(8, 8, 60)]
    assert worth_sharing(long_prompts, total_len=96)
    # the tiny benchmark
    assert not worth_sharing([PromptGroup(0, 8, 2), PromptGroup(8, 8, 2)], total_len=10)
    # nothing is shared
    assert not worth_sharing([PromptGroup(i, 1, 64) for i in range(4)], total_len=96)
    assert not worth_sharing([], total_len=10)
    # empty completions: nothing to share
    assert not worth_sharing([PromptGroup(0, 8, 64)], total_len=64)


def test_a_group_with_empty_completions_next_to_others():
    model, tok = _model("llama", 4, False)
    groups = [PromptGroup(0, 2, 9), PromptGroup(2, 2, 4)]
    completion = [0, 0, 3, 5]  # the long prompt's rows have no completion tokens at all
    ids, mask = _rows(groups, completion, 9, tok.pad_token_id, len(tok))
    keep = 9 - 4 + 1
    shared, plain = (
        shared_prefix_logits(model, ids, keep, groups),
        llama.causal_logits(model, ids, keep),
    )
    real = mask[:, 3:].bool()
    assert torch.isfinite(shared).all() and torch.allclose(shared[real], plain[real], atol=1e-5)
