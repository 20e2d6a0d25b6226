"""``HFEngine``: a rollout engine on transformers ``generate`` (CPU or GPU).

When it wraps the very model the trainer optimises, ``load_weights`` has nothing to copy and the
sampler's log-probs equal the trainer's up to numerics (the gap the trainer logs is ~0). For
Llama-architecture models the sampling loop runs :class:`~rl.forward.llama.LeanDecoder` (a static KV
cache and no HF per-call overhead; the same tokens and log-probs as HF's forward, tested);
``lean=False`` keeps HF's forward with its DynamicCache.

>>> engine = HFEngine.from_pretrained("/path/to/tiny")            # doctest: +SKIP
>>> groups = engine.generate(["1+1="], SamplingParams(n=4, max_tokens=2))  # doctest: +SKIP
>>> len(groups[0]), groups[0][0].logprobs                          # doctest: +SKIP
(4, (-3.1, -2.9))
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from ..errors import RolloutError, require
from .base import Completion, Prompt, RolloutEngine, SamplingParams

_UNSET = object()
_CHUNK_SEED_STRIDE = (
    1_000_003  # chunk k samples with seed + k * stride (chunk 0 keeps the seed itself)
)


class HFEngine(RolloutEngine):
    """Generate with ``model.generate``; per-token sampler log-probs come from the processed scores.

    ``prompts`` may be strings (tokenised without special tokens) or lists of token ids (multi-turn
    episodes pass ids so that no re-tokenisation can shift token boundaries).
    """

    name = "hf"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch: int = 64,
        use_generate: bool = False,
        lean: bool = True,
    ) -> None:
        if tokenizer.pad_token_id is None:
            raise ValueError(
                "the tokenizer has no pad token; set tokenizer.pad_token = tokenizer.eos_token"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        self.use_generate = use_generate
        """False (default): a lean KV-cached sampling loop; True: ``model.generate`` (needed for
        stop strings)."""
        self.lean = lean
        """True (default): the loop runs :class:`~rl.forward.llama.LeanDecoder` (static cache, no HF
        per-call overhead) where it supports the architecture; False: the HF model's forward with a
        DynamicCache."""
        self._position_limit: Any = _UNSET

    @classmethod
    def from_pretrained(cls, path: str, device: str = "cpu", dtype: str = "float32") -> "HFEngine":
        """Load a model and tokenizer from a local directory (nothing is downloaded)."""
        torch = require("torch", "torch")
        transformers = require("transformers", "torch")
        tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, dtype=getattr(torch, dtype)
        ).to(device)
        return cls(model, tok)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per prompt, in prompt order, with the sampler's token
        log-probs."""
        torch = require("torch", "torch")
        if params.seed is not None and (self.use_generate or params.stop):
            torch.manual_seed(params.seed)
        ids = [self._encode(p) for p in prompts]
        self._check_positions(ids, params.max_tokens)
        out: list[list[Completion]] = []
        chunk = max(1, self.max_batch // params.n)
        # each chunk gets its own random stream
        for index, start in enumerate(range(0, len(ids), chunk)):
            seed = None if params.seed is None else params.seed + _CHUNK_SEED_STRIDE * index
            out.extend(
                self._generate_chunk(
                    ids[start : start + chunk], dataclasses.replace(params, seed=seed)
                )
            )
        return out

    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        """Copy the policy's weights in (skipped when they already are this model's tensors)."""
        own = self.model.state_dict()
        if all(k in own and own[k].data_ptr() == v.data_ptr() for k, v in state_dict.items()):
            return
        self.model.load_state_dict(state_dict, strict=True)

    def sync(self, policy: Any) -> None:
        """Take the trained policy's weights (free when the engine wraps the policy itself)."""
        if policy is not self.model:
            self.load_weights(policy.state_dict())

    def sleep(self) -> None:
        """Nothing to release: the model's memory is the policy's, or a copy the next sync needs."""
        return None

    def wake_up(self) -> None:
        """Nothing to take back (see :meth:`sleep`)."""
        return None

    # --- internals --------------------------------------------------------------------------------
    def _check_positions(self, ids: list[list[int]], max_tokens: int) -> None:
        """A model with learned position embeddings has no position past its table: say so, not
        IndexError."""
        if not ids:
            return
        if self._position_limit is _UNSET:
            self._position_limit = learned_position_limit(self.model)
        longest = max(len(x) for x in ids)
        if self._position_limit is not None and longest + max_tokens > self._position_limit[1]:
            name, limit = self._position_limit
            raise RolloutError(
                f"a prompt of {longest} tokens plus max_new_tokens={max_tokens} needs "
                f"{longest + max_tokens} positions, but the model learned {limit} ({name}); lower "
                "max_new_tokens, shorten the prompts (the env's max_prompt_chars, fewer turns), or "
                "use a model with a longer context"
            )

    def _encode(self, prompt: Prompt) -> list[int]:
        if isinstance(prompt, str):
            return list(self.tokenizer(prompt, add_special_tokens=False).input_ids)
        return list(prompt)

    def _generate_chunk(
        self, ids: list[list[int]], params: SamplingParams
    ) -> list[list[Completion]]:
        torch = require("torch", "torch")
        device = next(self.model.parameters()).device
        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=device)
        attention = torch.tensor(
            [[0] * (width - len(x)) + [1] * len(x) for x in ids], device=device
        )
        # the lean path has no dropout
        was_training = self.model.training and not self._lean_ok(params)
        if was_training:
            self.model.eval()
        try:
            if self.use_generate or params.stop:
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention,
                    max_new_tokens=params.max_tokens,
                    num_return_sequences=params.n,
                    output_scores=True,
                    return_dict_in_generate=True,
                    pad_token_id=pad,
                    eos_token_id=self.tokenizer.eos_token_id,
                    **self._sampling_kwargs(params),
                )
                new = out.sequences[:, width:]
                logprobs = _token_logprobs(out.scores, new)
            else:
                # cheaper per op than no_grad; nothing sampled here needs autograd
                with torch.inference_mode():
                    new, logprobs = self._sample(input_ids, attention, params)
        finally:
            if was_training:
                self.model.train()
        toks, lps = new.tolist(), logprobs.tolist()  # one conversion each, not one per row
        flat = self._completions(toks, lps, [ids[i // params.n] for i in range(len(toks))])
        return [flat[i * params.n : (i + 1) * params.n] for i in range(len(ids))]

    def _sample(self, input_ids, attention, params: SamplingParams):
        """Ancestral sampling with a KV cache for ``params.n`` completions of each row of
        ``input_ids``; returns new tokens ``[B * n, S]`` (rows of one prompt adjacent) and their
        log-probs under the processed (temperature / top-p) distribution. Finished rows are padded.

        The lean decoder reads each prompt once and copies its keys/values to the ``n`` rows that
        continue it (shared-prefix prefill); HF's path prefills every row.
        """
        torch = require("torch", "torch")
        from ..forward import llama

        gen = torch.Generator(device=input_ids.device)
        gen.manual_seed(
            params.seed if params.seed is not None else int(torch.randint(0, 2**31 - 1, ()).item())
        )
        eos, pad, n = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id, params.n
        # without left padding the model's own causal mask is exact
        padded = not bool(attention.all())
        positions = (attention.cumsum(-1) - 1).clamp(min=0) if padded else None
        decoder = None
        # unpadded rows all continue at the cache length: positions stay None
        if self._lean_ok(params):
            decoder = llama.LeanDecoder(
                self.model, input_ids.shape[0], input_ids.shape[1] + params.max_tokens
            )
        else:
            input_ids, attention = (
                input_ids.repeat_interleave(n, 0),
                attention.repeat_interleave(n, 0),
            )
            positions = None if positions is None else positions.repeat_interleave(n, 0)
        done = torch.zeros(
            input_ids.shape[0] * (n if decoder is not None else 1),
            dtype=torch.bool,
            device=input_ids.device,
        )
        tokens, logps, cache, step_ids = [], [], None, input_ids
        # the batch rows the lean decoder still runs (None: all); finished rows are dropped from it
        rows = None
        with torch.no_grad():  # (inference mode when called from generate)
            for step in range(params.max_tokens):
                mask, pos = (attention if padded else None), positions
                if rows is not None:
                    step_ids, mask, pos = (
                        step_ids[rows],
                        None if mask is None else mask[rows],
                        None if pos is None else pos[rows],
                    )
                logits, cache = self._next_logits(decoder, step_ids, mask, pos, cache)
                # the prompts were read once: fan out to n rows each
                if step == 0 and decoder is not None:
                    decoder.repeat_rows(n)
                    logits, attention = (
                        logits.repeat_interleave(n, 0),
                        attention.repeat_interleave(n, 0),
                    )
                    positions = None if positions is None else positions.repeat_interleave(n, 0)
                # back to the full batch: the same random draws as without dropping rows
                if rows is not None:
                    logits = logits.new_zeros(done.shape[0], logits.shape[-1]).index_copy_(
                        0, rows, logits
                    )
                logp = _processed_logprobs(logits.float(), params.temperature, params.top_p)
                nxt = _pick(logp, params.temperature, gen)
                tokens.append(nxt.masked_fill(done, pad))
                logps.append(logp.gather(-1, nxt.unsqueeze(-1)).squeeze(-1))
                done = done | (nxt == eos)
                if bool(done.all()):
                    break
                step_ids = tokens[-1].unsqueeze(-1)
                if padded:
                    attention = torch.cat(
                        [attention, attention.new_ones(attention.shape[0], 1)], dim=-1
                    )
                    positions = positions[:, -1:] + 1
                if decoder is not None:
                    rows = _drop_finished(decoder, done, rows)
        return torch.stack(tokens, -1), torch.stack(logps, -1)

    def _next_logits(self, decoder, step_ids, attention, positions, cache):
        """Last-position logits ``[B, vocab]`` of one forward (lean decoder, else HF with its
        cache), and the cache."""
        if decoder is not None:
            return decoder.step(
                step_ids, positions, None if attention is None else attention.bool()
            ), None
        out = self.model(
            input_ids=step_ids,
            attention_mask=attention,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1], out.past_key_values

    def _lean_ok(self, params: SamplingParams) -> bool:
        from ..forward import llama

        return self.lean and not (self.use_generate or params.stop) and llama.supports(self.model)

    def _sampling_kwargs(self, params: SamplingParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"do_sample": params.temperature > 0, "top_k": 0}
        if params.temperature > 0:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        return kwargs

    def _completions(
        self, rows: list[list[int]], logprobs: list[list[float]], prompts: list[list[int]]
    ) -> list[Completion]:
        """Completions cut after their first EOS (``finish_reason`` "stop"), else at the length
        limit."""
        eos = self.tokenizer.eos_token_id  # a property lookup on HF tokenizers: read it once
        kept = [toks[: toks.index(eos) + 1] if eos in toks else toks for toks in rows]
        # one call for the batch
        texts = self.tokenizer.batch_decode(kept, skip_special_tokens=True)
        return [
            Completion(
                text=text,
                token_ids=tuple(k),
                logprobs=tuple(lp[: len(k)]),
                finish_reason="stop" if k and k[-1] == eos else "length",
                prompt_token_ids=tuple(p),
            )
            for text, k, lp, p in zip(texts, kept, logprobs, prompts)
        ]


def _drop_finished(decoder, done, rows):
    """Drop finished rows from the lean decoder's cache once at most three quarters of the rows it
    runs are alive (a copy of the cache each time, so at most log_{4/3}(batch) copies); returns the
    rows it runs now."""
    import torch

    alive = (~done).nonzero().squeeze(-1)
    current = done.shape[0] if rows is None else rows.shape[0]
    if 4 * alive.numel() > 3 * current or current < 4:
        return rows
    keep = alive if rows is None else torch.searchsorted(rows, alive)
    decoder.keep_rows(keep)
    return alive


def _processed_logprobs(logits, temperature: float, top_p: float):
    """Log-probs of the distribution actually sampled: logits / temperature, restricted to the top-p
    nucleus."""
    torch = require("torch", "torch")
    if temperature > 0 and temperature != 1.0:  # dividing by 1 is exact: skip the op
        logits = logits / temperature
    logp = torch.log_softmax(logits, dim=-1)
    if top_p >= 1.0 or temperature == 0:
        return logp
    sorted_logp, order = logp.sort(dim=-1, descending=True)
    before = sorted_logp.exp().cumsum(-1) - sorted_logp.exp()  # mass of strictly more likely tokens
    drop = torch.zeros_like(logp, dtype=torch.bool).scatter(-1, order, before >= top_p)
    return torch.log_softmax(logits.masked_fill(drop, float("-inf")), dim=-1)


def _pick(logp, temperature: float, generator):
    """One token per row: argmax at temperature 0, else a draw from ``exp(logp)``.

    The draw inverts the cumulative distribution: one uniform number per row, located in the row's
    running sum of probabilities (``searchsorted``). That is an exact draw from the distribution and
    costs one random number per row, where ``torch.multinomial`` (and the exponential-race trick)
    spend one per vocabulary entry, which on a 49k-token vocabulary cost more than the model's
    own matmuls. A token of probability 0 (outside the top-p nucleus) is never picked: the running
    sum does not rise on it, and ``right=True`` skips flat steps.
    """
    import torch

    if temperature == 0:
        return logp.argmax(-1)
    cum = logp.exp().cumsum(-1)
    u = (
        torch.rand(cum.shape[0], 1, generator=generator, device=cum.device, dtype=cum.dtype)
        * cum[:, -1:]
    )
    return torch.searchsorted(cum, u, right=True).squeeze(-1).clamp(max=cum.shape[-1] - 1)


def _token_logprobs(scores, tokens):
    """Log-prob of each generated token under the processed (temperature/top-p) sampling
    distribution."""
    torch = require("torch", "torch")
    cols = []
    for step, step_scores in enumerate(scores):
        logp = torch.log_softmax(step_scores.float(), dim=-1)
        cols.append(logp.gather(-1, tokens[:, step : step + 1]).squeeze(-1))
    return torch.stack(cols, dim=-1) if cols else torch.zeros(tokens.shape[0], 0)


def learned_position_limit(model: Any) -> tuple[str, int] | None:
    """``(module name, positions)`` of a model's learned absolute position table (GPT-2's ``wpe``,
    OPT's ``embed_positions``), or None for models without one (RoPE, ALiBi: no hard limit to
    check).

    >>> learned_position_limit(object()) is None
    True
    """
    torch = require("torch", "torch")
    modules = model.named_modules() if hasattr(model, "named_modules") else ()
    for name, module in modules:
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Embedding) and (leaf == "wpe" or "position" in leaf):
            return name, module.num_embeddings - int(getattr(module, "offset", 0) or 0)
    return None
