"""Rollout engines: HF transformers (CPU/GPU) and vLLM (GPU). The trainer sees only the protocol."""

from .base import Completion, FakeEngine, RolloutEngine, SamplingParams

__all__ = ["Completion", "FakeEngine", "RolloutEngine", "SamplingParams"]
