"""The :class:`RolloutEngine` protocol, its records, and :class:`FakeEngine` for users' tests.

An engine generates ``n`` completions per prompt and reports, for every generated token, the
sampler's log-probability, so the trainer can correct for any mismatch between the sampler and
the policy it trains (truncated importance sampling).

>>> engine = FakeEngine(["4", "5"])
>>> [c.text for c in engine.generate(["2+2="], SamplingParams(n=2))[0]]
['4', '5']
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. Mirrors the common subset of vLLM's and transformers' options."""

    n: int = 1
    """Completions per prompt (the GRPO group size G)."""
    temperature: float = 1.0
    """Softmax temperature; 0 means greedy."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_tokens: int = 256
    """Maximum new tokens per completion."""
    seed: int | None = None
    """Seed for reproducible sampling, where the engine supports it."""
    stop: tuple[str, ...] = ()
    """Strings that end a completion."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"SamplingParams.n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"SamplingParams.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must lie in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class Completion:
    """One sampled completion: text, token ids, and the sampler's log-prob of each token."""

    text: str
    token_ids: tuple[int, ...] = ()
    logprobs: tuple[float, ...] = ()
    finish_reason: str = "stop"
    """``stop`` (EOS or stop string) or ``length`` (hit ``max_tokens``)."""
    prompt_token_ids: tuple[int, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class RolloutEngine(Protocol):
    """Generates completions and takes new weights from the trained policy."""

    name: str

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions for each prompt, in prompt order."""
        ...

    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        """Replace the engine's weights with the policy's (no restart, no disk round trip)."""
        ...


class FakeEngine:
    """A scripted engine for testing code that drives an engine. Cycles through ``texts``.

    Never a stand-in for a real engine in acceptance tests.
    """

    name = "fake"

    def __init__(self, texts: Sequence[str]) -> None:
        if not texts:
            raise ValueError("FakeEngine needs at least one text to return")
        self._texts = itertools.cycle(texts)
        self.loads = 0

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        return [[self._one() for _ in range(params.n)] for _ in prompts]

    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        self.loads += 1

    def _one(self) -> Completion:
        text = next(self._texts)
        ids = tuple(range(len(text.split()) or 1))
        return Completion(text=text, token_ids=ids, logprobs=tuple(-1.0 for _ in ids))
