"""Which rollout engine ``engine="auto"`` means: vLLM where it is installed for this device and can
run the model, else ``HFEngine``.

On CPU, vLLM's CPU build generates with SmolLM2-135M several times faster than ``HFEngine`` and
transformers' ``generate`` (``tests/bench/bench_generation.py``), so where it is installed it is the
default; where it is not (or cannot serve the model: an architecture it does not know, a head size
its CPU attention refuses, no checkpoint directory to load) the default is ``HFEngine``. In
training, each step also pays vLLM's in-place weight reload (about 1.6 s for 135M parameters on two
cores): when completions are only a few tokens long, ``engine="hf"`` can be the faster choice
(``tests/bench/bench_real_model.py`` runs both).

>>> resolve_engine("hf", "/models/x", "cpu", None)
'hf'
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def resolve_engine(kind: str, model_path: str, device: str, model: Any) -> str:
    """``kind`` itself, or for ``auto`` the engine :func:`vllm_serves` allows (``vllm``) or
    ``hf``."""
    if kind != "auto":
        return kind
    return "vllm" if vllm_serves(model_path, device, model) else "hf"


def vllm_serves(model_path: str, device: str, model: Any) -> bool:
    """Whether an installed vLLM built for ``device`` can load ``model_path`` and run ``model``'s
    architecture (``model`` is the policy or its transformers config)."""
    if not model_path or not Path(model_path).is_dir() or importlib.util.find_spec("vllm") is None:
        return False
    try:  # an installed vLLM that does not import (a mismatched torch) serves nothing
        from .vllm_engine import platform_device

        if platform_device() != device:
            return False
        from vllm.model_executor.models import ModelRegistry

        config = getattr(model, "config", model)
        if not set(getattr(config, "architectures", None) or ()) & set(
            ModelRegistry.get_supported_archs()
        ):
            return False
        return device != "cpu" or _head_dim(config) in _cpu_head_sizes()
    except Exception:  # noqa: BLE001
        return False


def _head_dim(config: Any) -> int:
    return int(
        getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    )


def _cpu_head_sizes() -> list[int]:
    from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

    return list(CPUAttentionBackend.get_supported_head_sizes())
