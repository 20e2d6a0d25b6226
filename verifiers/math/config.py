"""Configuration of the ``math`` verifiers: one frozen dataclass, validated on creation.

>>> MathConfig(timeout_s=2.0).timeout_s
2.0
>>> MathConfig(fallback="sometimes")
Traceback (most recent call last):
...
ValueError: MathConfig.fallback='sometimes' is not one of ('last_number', 'off'); pick one of them
"""

from __future__ import annotations

from dataclasses import dataclass

FALLBACKS = ("last_number", "off")
PERCENT_RULES = ("either", "strip", "strict")


@dataclass(frozen=True)
class MathConfig:
    """Knobs of :class:`~verifiers.math.MathVerifier`. Changing a default is a new verifier
    version."""

    timeout_s: float = 3.0
    """Wall-clock bound for the CAS part of one verification (parse + compare in the helper
    process). The helper is killed and respawned on overrun, and the verdict is ``timeout``."""

    fallback: str = "last_number"
    """What to extract when there is no ``\\boxed{}``, "answer is", "Answer:" or ``####``:
    ``"last_number"`` takes the last number in the response (or the last ``$...$`` math span when
    that number sits inside it, so ``$\\frac{1}{3}$`` is never read as 3); ``"off"`` makes it
    ``unparseable``. A last ``\\boxed{`` that never closes (cut-off output) is ``unparseable``."""

    rel_tol: float = 1e-9
    """Relative tolerance, used only when the gold is written as a decimal: ``|a-b| <= rel_tol *
    max(|a|, |b|)``, computed exactly, so it stays correct for tiny magnitudes. An exact gold
    (integer, fraction, radical, ``\\pi``) is matched exactly: ``1/3`` is not ``0.3333333333``,
    ``\\pi/2`` is not ``1.5708``, ``1/2004!`` is not ``1/2006!``; ``0.5`` is ``1/2``."""

    percent_rule: str = "either"
    """How ``%`` is read. ``"either"``: ``25\\%`` equals both ``25`` and ``0.25``; ``"strip"``: the
    sign is dropped (``25\\%`` == ``25`` only); ``"strict"``: ``25\\%`` == ``0.25`` only."""

    relation_answers_set: bool = True
    """Whether an answer written as a relation matches a gold written as a set: ``-2 \\le x \\le 7``
    against ``x \\in [-2, 7]``. ``False`` refuses it, as Math-Verify's
    ``allow_set_relation_comp=False`` does; a set answer against a relation gold is compared either
    way."""

    max_response_chars: int = 1_000_000
    """Responses longer than this are ``unparseable`` (code ``response_too_long``) without
    extraction."""

    max_answer_chars: int = 2_000
    """Extracted answers (and golds) longer than this are not handed to the CAS."""

    max_nesting: int = 60
    """Deepest bracket / brace nesting accepted in an answer before it is refused as
    ``too_deep``."""

    max_digits: int = 20_000
    """Largest number of digits an answer may denote (estimated before any evaluation): power
    towers like ``9^{9^{9^{9}}}`` and ``100000000!`` are refused instead of evaluated."""

    memory_limit_mb: int = 1_024
    """Extra address space the CAS helper process may take before the item is refused."""

    gold_cache_size: int = 4_096
    """Entries in the LRU cache of parsed gold answers (per process)."""

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(
                f"MathConfig.timeout_s={self.timeout_s!r} must be > 0; e.g. 3.0 seconds"
            )
        if self.fallback not in FALLBACKS:
            raise ValueError(
                f"MathConfig.fallback={self.fallback!r} is not one of {FALLBACKS}; pick one of them"
            )
        if self.percent_rule not in PERCENT_RULES:
            raise ValueError(
                f"MathConfig.percent_rule={self.percent_rule!r} is not one of {PERCENT_RULES}; "
                "pick one of them"
            )
        if not 0 <= self.rel_tol < 1e-4:
            raise ValueError(
                f"MathConfig.rel_tol={self.rel_tol!r} must lie in [0, 1e-4) so 100 and 99.99 "
                "differ; e.g. 1e-9"
            )
        for name in (
            "max_response_chars",
            "max_answer_chars",
            "max_nesting",
            "max_digits",
            "memory_limit_mb",
            "gold_cache_size",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"MathConfig.{name}={getattr(self, name)!r} must be >= 1")
