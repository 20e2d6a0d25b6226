"""``rl.forward.llama``: the lean sampling decoder and training forward reproduce the HF model
exactly.

Both replace HF's forward only to save per-call overhead, so they must give the same tokens,
log-probs, logits and gradients as the model they stand in for (GQA, biases and tied embeddings
included).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rl.forward import llama  # noqa: E402
from rl.engines.base import SamplingParams  # noqa: E402
from rl.engines.hf import HFEngine  # noqa: E402
from rl.tiny import build_char_tokenizer  # noqa: E402

ALPHABET = "0123456789+=?"


def _model(arch: str, kv_heads: int, tied: bool):
    tok = build_char_tokenizer(ALPHABET)
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
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=tied,
    )
    torch.manual_seed(1)
    return transformers.AutoModelForCausalLM.from_config(cfg), tok


VARIANTS = [("llama", 4, False), ("llama", 2, True), ("qwen2", 2, False)]


@pytest.mark.parametrize("arch,kv_heads,tied", VARIANTS)
@pytest.mark.parametrize(
    "prompts", [["1=", "2="], ["1=", "12+3="]], ids=["same-length", "left-padded"]
)
def test_lean_sampling_gives_the_hf_path_tokens_and_logprobs(arch, kv_heads, tied, prompts):
    model, tok = _model(arch, kv_heads, tied)
    assert llama.supports(model)
    params = SamplingParams(n=4, max_tokens=6, seed=11, temperature=0.9, top_p=0.95)
    fast = HFEngine(model, tok, lean=True).generate(prompts, params)
    slow = HFEngine(model, tok, lean=False).generate(prompts, params)
    for group_fast, group_slow in zip(fast, slow):
        for a, b in zip(group_fast, group_slow):
            assert a.token_ids == b.token_ids
            assert torch.allclose(torch.tensor(a.logprobs), torch.tensor(b.logprobs), atol=1e-6)


@pytest.mark.parametrize(
    "prompts", [["1=", "2="], ["1=", "12+3="]], ids=["same-length", "left-padded"]
)
def test_rows_that_finish_early_leave_the_lean_batch_and_the_rest_is_unchanged(prompts):
    model, tok = _model("llama", 2, False)
    with torch.no_grad():  # a loud EOS row: some samples stop after a token or two, others run on
        model.lm_head.weight[tok.eos_token_id] *= 12
    params = SamplingParams(n=8, max_tokens=12, seed=5, temperature=1.0)
    dropped = []
    original = llama.LeanDecoder.keep_rows

    def spy(self, index):
        dropped.append(int(index.numel()))
        return original(self, index)

    llama.LeanDecoder.keep_rows = spy
    try:
        fast = HFEngine(model, tok, lean=True).generate(prompts, params)
    finally:
        llama.LeanDecoder.keep_rows = original
    slow = HFEngine(model, tok, lean=False).generate(prompts, params)
    lengths = [len(c.token_ids) for g in fast for c in g]
    # rows were dropped, and some ran to the limit
    assert dropped and min(lengths) < 12 == max(lengths)
    for group_fast, group_slow in zip(fast, slow):
        for a, b in zip(group_fast, group_slow):
            assert a.token_ids == b.token_ids and a.finish_reason == b.finish_reason
            assert torch.allclose(torch.tensor(a.logprobs), torch.tensor(b.logprobs), atol=1e-5)


@pytest.mark.parametrize("arch,kv_heads,tied", VARIANTS)
def test_lean_training_forward_matches_hf_logits_and_gradients(arch, kv_heads, tied):
    model, tok = _model(arch, kv_heads, tied)
    model.train()
    ids = torch.randint(0, len(tok), (6, 9), generator=torch.Generator().manual_seed(0))
    ids[:, -2:] = tok.pad_token_id  # right padding, as the trainer packs it
    grads = []
    for forward in (
        lambda: llama.causal_logits(model, ids, 7),
        lambda: model(input_ids=ids, logits_to_keep=7).logits,
    ):
        model.zero_grad(set_to_none=True)
        logits = forward()
        logits.log_softmax(-1)[..., 3].sum().backward()
        grads.append((logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (fast, g_fast), (slow, g_slow) = grads
    assert fast.shape == slow.shape == (6, 7, len(tok))
    assert torch.allclose(fast, slow, atol=1e-5)
    for name in g_slow:
        assert torch.allclose(g_fast[name], g_slow[name], atol=1e-5, rtol=1e-4), name


def test_lean_paths_are_refused_where_they_would_not_be_exact():
    model, _ = _model("llama", 4, False)
    model.train()
    assert llama.trainable(model)
    (
        getattr(model, "activation_checkpointing_enable", None)
        or model.gradient_checkpointing_enable
    )()
    assert not llama.trainable(model)  # checkpointing is HF's to do
    assert not llama.supports(object())
    gpt2 = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=20)
    )
    assert not llama.supports(gpt2)
    scaled, _ = _model("llama", 4, False)
    scaled.config.rope_parameters = {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}
    assert not llama.supports(scaled)
    windowed, _ = _model("qwen2", 2, False)
    windowed.config.layer_types = ["full_attention", "sliding_attention"]
    assert not llama.supports(windowed)
