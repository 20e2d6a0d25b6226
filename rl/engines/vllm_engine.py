"""``VLLMEngine``: vLLM colocated with the trainer on one GPU (optional extra ``vllm``).

How it is driven (the same recipe as TRL's ``vllm_mode="colocate"``, against vLLM's documented API):

- the engine is built in the trainer's process (``distributed_executor_backend="external_launcher"``)
  with ``enable_sleep_mode=True`` where supported and ``logprobs_mode="processed_logprobs"`` so the
  returned log-probs are those of the distribution actually sampled (after temperature / top-p);
- between generation and training it sleeps at level 2 (weights and KV cache released: the
  trainer pushes fresh weights anyway); before a sync it wakes the weights only, then the KV cache;
- after every optimiser step the policy's tensors are pushed into the running model with the
  model's own ``load_weights`` (no restart, no disk round trip), then the prefix cache is reset so
  no KV block computed with stale weights is reused.

The sampler's log-probs come back with each completion; the trainer corrects for any mismatch
with truncated importance sampling and logs the gap every step.

GPU status: written against the documented API; it imports and constructs only where ``vllm`` and a
GPU exist. ``tests/gpu/check_vllm_engine.py`` is the check to run on a GPU machine.

>>> engine = VLLMEngine("/models/tiny", gpu_memory_utilization=0.3)        # doctest: +SKIP
>>> engine.generate(["1+1="], SamplingParams(n=4, max_tokens=8))           # doctest: +SKIP
>>> engine.sync(policy)                                                    # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from ..errors import RLError, require
from .base import Completion, SamplingParams


class VLLMEngine:
    """A colocated vLLM ``LLM`` that takes new weights in place after every optimiser step."""

    name = "vllm"

    def __init__(self, model_path: str, *, gpu_memory_utilization: float = 0.3, seed: int = 0,
                 enable_sleep_mode: bool = True, max_model_len: int | None = None, dtype: str = "auto",
                 **llm_kwargs: Any) -> None:
        vllm = require("vllm", "vllm")
        for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"),
                           ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29517")):
            os.environ.setdefault(key, value)  # external_launcher reads the torch.distributed variables
        # a bounded batch-token budget keeps vLLM's start-up memory profile honest when colocated
        llm_kwargs.setdefault("max_num_batched_tokens", 4096)
        kwargs = dict(model=model_path, gpu_memory_utilization=gpu_memory_utilization, seed=seed, dtype=dtype,
                      enable_sleep_mode=enable_sleep_mode, distributed_executor_backend="external_launcher",
                      max_model_len=max_model_len, logprobs_mode="processed_logprobs", **llm_kwargs)
        try:
            self.llm = vllm.LLM(**kwargs)
        except TypeError:  # an older vLLM without logprobs_mode: raw log-probs, TIS still bounds the error
            kwargs.pop("logprobs_mode")
            self.llm = vllm.LLM(**kwargs)
        self.sleep_mode = enable_sleep_mode
        self._sleeping: set[str] = set()
        self._weights_discarded = False
        self.syncs = 0

    # --- generation ---------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str | Sequence[int]], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per prompt with the sampler's per-token log-probs."""
        vllm = require("vllm", "vllm")
        self.wake_up()
        sampling = vllm.SamplingParams(n=params.n, temperature=params.temperature, top_p=params.top_p,
                                       max_tokens=params.max_tokens, seed=params.seed, stop=list(params.stop),
                                       logprobs=0)
        inputs = [p if isinstance(p, str) else {"prompt_token_ids": list(p)} for p in prompts]
        outputs = self.llm.generate(inputs, sampling_params=sampling, use_tqdm=False)
        return [[_completion(o, out.prompt_token_ids) for o in out.outputs] for out in outputs]

    # --- weights ------------------------------------------------------------------------------------
    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        """Push ``state_dict``'s tensors into the running model, then reset the prefix cache."""
        self._wake(["weights"])
        self._load(state_dict.items())
        self._weights_discarded = False
        self.llm.reset_prefix_cache()
        self.syncs += 1

    def sync(self, policy: Any) -> None:
        """Push the trained policy's current parameters (named as in its ``state_dict``)."""
        self.load_weights(dict(policy.state_dict()))

    def _load(self, named: Iterable[tuple[str, Any]]) -> None:
        model = self._model()
        if model is not None:
            for name, tensor in named:
                model.load_weights([(name, tensor)])
            return
        # Multiprocess engines: run the load inside the worker (vLLM's collective_rpc with a callable).
        items = [(name, tensor.detach().cpu()) for name, tensor in named]
        self.llm.collective_rpc(_load_in_worker, args=(items,))

    def _model(self) -> Any:
        """The in-process ``nn.Module`` vLLM runs, or None when the worker lives in another process."""
        try:
            return self.llm.llm_engine.model_executor.driver_worker.model_runner.model
        except AttributeError:
            pass
        try:
            return self.llm.llm_engine.model_executor.driver_worker.worker.model_runner.model
        except AttributeError:
            return None

    # --- memory -------------------------------------------------------------------------------------
    def sleep(self) -> None:
        """Release weights and KV cache (level 2) while the trainer updates, where supported."""
        if self.sleep_mode and not self._sleeping:
            self.llm.sleep(level=2)
            self._sleeping = {"weights", "kv_cache"}
            self._weights_discarded = True

    def wake_up(self) -> None:
        """Map memory back (weights, then KV cache) before generating."""
        if self._weights_discarded:
            raise RLError("vLLM slept at level 2 and discarded its weights; call sync(policy) before generate()")
        self._wake(["weights"])
        self._wake(["kv_cache"])

    def _wake(self, tags: list[str]) -> None:
        tags = [t for t in tags if t in self._sleeping]
        if not tags:
            return
        import torch

        torch.cuda.empty_cache()  # the trainer's freed blocks go back first, or mapping vLLM's memory can OOM
        try:
            self.llm.wake_up(tags=tags)
            self._sleeping -= set(tags)
        except TypeError:  # a vLLM without tagged wake-up: wake everything at once
            self.llm.wake_up()
            self._sleeping.clear()


def _load_in_worker(worker: Any, items: list[tuple[str, Any]]) -> None:
    model = worker.model_runner.model
    device = next(model.parameters()).device
    model.load_weights([(name, tensor.to(device)) for name, tensor in items])


def _completion(output: Any, prompt_ids: Sequence[int]) -> Completion:
    ids = tuple(output.token_ids)
    logprobs = tuple(float(step[tok].logprob) for step, tok in zip(output.logprobs or [], ids))
    finish = "length" if output.finish_reason == "length" else "stop"
    return Completion(text=output.text, token_ids=ids, logprobs=logprobs, finish_reason=finish,
                      prompt_token_ids=tuple(prompt_ids))
