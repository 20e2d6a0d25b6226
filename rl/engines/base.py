"""The :class:`RolloutEngine` protocol, its records, and :class:`FakeEngine` for users' tests.

An engine generates ``n`` completions per prompt and reports, for every generated token, the
sampler's log-probability, so the trainer can correct for any mismatch between the sampler and
the policy it trains (truncated importance sampling).

>>> engine = FakeEngine(["4", "5"])
>>> [c.text for c in engine.generate(["2+2="], SamplingParams(n=2))[0]]
['4', '5']
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from ..errors import ConfigError

Prompt = str | Sequence[int]
"""One prompt: token ids (what the trainer's episodes pass, so that no re-tokenisation can shift a
token boundary) or text (the engine tokenises it without special tokens)."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. Mirrors the common subset of vLLM's and transformers' options.

    Built once where the settings enter (``GRPOConfig.sampling``, ``MonteCarloConfig.sampling``)
    and passed along; a call that needs another seed or ``n`` takes a :meth:`replace`'d copy.

    >>> params = SamplingParams(n=4, temperature=0.7, max_tokens=64)
    >>> params.replace(n=1, seed=3).to_dict("n", "seed")
    {'n': 1, 'seed': 3}
    """

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

    def replace(self, **changes: Any) -> SamplingParams:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self, *names: str) -> dict[str, Any]:
        """The fields ``names`` (all of them when none is named), in that order, as JSON values.

        >>> SamplingParams(stop=("\\n",)).to_dict("max_tokens", "stop")
        {'max_tokens': 256, 'stop': ['\\n']}
        """
        out = {}
        for name in names or [f.name for f in dataclasses.fields(self)]:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


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
    """Generates completions, takes new weights from the trained policy, and gives memory back
    while the policy trains.

    Prompts are token ids (the trainer's episodes) or text (Monte-Carlo labelling). The trainer
    calls, each step: :meth:`generate` (the engine wakes itself if it slept), :meth:`sleep` before
    the update (where ``vllm_sleep`` is set), :meth:`sync` after it. Subclass it to inherit
    defaults: ``sync`` loads ``policy.state_dict()``; ``sleep`` and ``wake_up`` do nothing.
    :func:`check_engine` says what an engine lacks.

    >>> isinstance(FakeEngine(["4"]), RolloutEngine)
    True
    """

    name: str
    """Short engine name (``hf``, ``vllm``, ...), written into records and warnings."""

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions for each prompt, in prompt order."""
        ...

    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        """Replace the engine's weights with the policy's (no restart, no disk round trip)."""
        ...

    def sync(self, policy: Any) -> None:
        """Take the trained policy's current weights (after every optimiser step)."""
        self.load_weights(policy.state_dict())

    def sleep(self) -> None:
        """Release the engine's memory (weights, KV cache) while the trainer updates the policy."""
        return None

    def wake_up(self) -> None:
        """Take that memory back before generating (``generate`` calls it where needed)."""
        return None


def check_engine(engine: Any) -> RolloutEngine:
    """``engine`` as a :class:`RolloutEngine`: itself where it has every member; an engine with
    only ``generate`` and ``load_weights`` (the protocol's core) gets the protocol's defaults for
    the rest (:class:`CompletedEngine`); anything else is a :class:`~rl.errors.ConfigError` naming
    what it lacks and the fix.

    >>> check_engine(FakeEngine(["4"])).name
    'fake'
    >>> class Minimal:
    ...     def generate(self, prompts, params): return [[] for _ in prompts]
    ...     def load_weights(self, state_dict): pass
    >>> engine = check_engine(Minimal())
    >>> engine.name, engine.sleep()
    ('Minimal', None)
    >>> check_engine(object())
    Traceback (most recent call last):
    ...
    rl.errors.ConfigError: engine object lacks ['generate', 'load_weights'] of the RolloutEngine ...
    """
    if isinstance(engine, RolloutEngine):
        return engine
    missing = [name for name in CORE_MEMBERS if not callable(getattr(engine, name, None))]
    if missing:
        raise ConfigError(
            f"engine {type(engine).__name__} lacks {missing} of the RolloutEngine protocol; add "
            "them, or subclass rl.engines.RolloutEngine (it documents every member)"
        )
    return CompletedEngine(engine)


CORE_MEMBERS = ("generate", "load_weights")
"""What an engine must have; ``name``, ``sync``, ``sleep`` and ``wake_up`` have defaults."""


class CompletedEngine(RolloutEngine):
    """An engine with only the protocol's core, completed with its defaults: ``name`` is the
    class name, ``sync`` loads ``policy.state_dict()``, ``sleep``/``wake_up`` do nothing; the
    members the engine does have are its own. Built by :func:`check_engine`."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.name = getattr(engine, "name", type(engine).__name__)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        return self.engine.generate(prompts, params)

    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        self.engine.load_weights(state_dict)

    def sync(self, policy: Any) -> None:
        if hasattr(self.engine, "sync"):
            self.engine.sync(policy)
        else:
            super().sync(policy)

    def sleep(self) -> None:
        if hasattr(self.engine, "sleep"):
            self.engine.sleep()

    def wake_up(self) -> None:
        if hasattr(self.engine, "wake_up"):
            self.engine.wake_up()


class FakeEngine(RolloutEngine):
    """A scripted engine for testing code that drives an engine. Cycles through ``texts``.

    It inherits the protocol's defaults: ``sync`` counts as a weight load, ``sleep`` and
    ``wake_up`` do nothing. Never a stand-in for a real engine in acceptance tests.
    """

    name = "fake"

    def __init__(self, texts: Sequence[str]) -> None:
        if not texts:
            raise ValueError("FakeEngine needs at least one text to return")
        self._texts = itertools.cycle(texts)
        self.loads = 0

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        return [[self._one() for _ in range(params.n)] for _ in prompts]

    def load_weights(self, state_dict: Mapping[str, Any]) -> None:
        self.loads += 1

    def _one(self) -> Completion:
        text = next(self._texts)
        ids = tuple(range(len(text.split()) or 1))
        return Completion(text=text, token_ids=ids, logprobs=tuple(-1.0 for _ in ids))
