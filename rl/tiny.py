"""Tiny models built locally from a config and a character tokenizer: for tests, benchmarks and
demos.

Nothing is downloaded: the tokenizer is made with the ``tokenizers`` library over a fixed alphabet
and the model is randomly initialised from a transformers config.

>>> path = make_tiny_model("/tmp/tiny-policy", hidden_size=32, num_layers=2)  # doctest: +SKIP
>>> # GRPOConfig(model=path, ...)
"""

from __future__ import annotations

from pathlib import Path

from .errors import require

DEFAULT_ALPHABET = "".join(chr(c) for c in range(32, 127)) + "\n"
"""Printable ASCII and newline: enough for math, JSON and tool-call text."""
SPECIAL_TOKENS = {"pad": "<pad>", "bos": "<s>", "eos": "</s>", "unk": "<unk>"}


def build_char_tokenizer(alphabet: str = DEFAULT_ALPHABET):
    """A ``PreTrainedTokenizerFast`` with one token per character of ``alphabet`` plus
    pad/bos/eos/unk.

    >>> tok = build_char_tokenizer("0123456789+=")  # doctest: +SKIP
    >>> tok.decode(tok("1+1=").input_ids)           # doctest: +SKIP
    '1+1='
    """
    tokenizers = require("tokenizers", "torch")
    transformers = require("transformers", "torch")
    chars = list(dict.fromkeys(alphabet))
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS.values())}
    for ch in chars:
        vocab.setdefault(ch, len(vocab))
    model = tokenizers.models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk"])
    tok = tokenizers.Tokenizer(model)
    # One token per character: split on the empty pattern, keep every piece.
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Split(tokenizers.Regex("."), behavior="isolated")
    tok.decoder = tokenizers.decoders.Fuse()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=SPECIAL_TOKENS["pad"],
        bos_token=SPECIAL_TOKENS["bos"],
        eos_token=SPECIAL_TOKENS["eos"],
        unk_token=SPECIAL_TOKENS["unk"],
    )


def build_tiny_model(
    tokenizer,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 4,
    seed: int = 0,
    arch: str = "llama",
):
    """A randomly initialised causal LM (``llama`` or ``qwen2``) sized for ``tokenizer``."""
    torch = require("torch", "torch")
    transformers = require("transformers", "torch")
    configs = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}
    if arch not in configs:
        raise ValueError(f"arch={arch!r}: choose one of {sorted(configs)}")
    config = configs[arch](
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def make_tiny_model(path: str | Path, alphabet: str = DEFAULT_ALPHABET, **model_kwargs) -> str:
    """Build a tokenizer and a tiny model and save both to ``path``; returns the path as a
    string."""
    path = Path(path)
    tokenizer = build_char_tokenizer(alphabet)
    model = build_tiny_model(tokenizer, **model_kwargs)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return str(path)
