"""Rollout engines: HF transformers (CPU/GPU) and vLLM (CUDA, or its CPU build). The trainer sees
only the protocol."""

from .base import (
    CompletedEngine,
    Completion,
    FakeEngine,
    RolloutEngine,
    SamplingParams,
    check_engine,
)
from .hf import HFEngine
from .vllm_engine import VLLMEngine

__all__ = [
    "CompletedEngine",
    "Completion",
    "FakeEngine",
    "HFEngine",
    "RolloutEngine",
    "SamplingParams",
    "VLLMEngine",
    "check_engine",
]
