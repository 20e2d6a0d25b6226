"""Exceptions raised by the ``rl`` package.

Every exception here descends from :class:`RLError`::

    RLError
    ├── ConfigError            (also ValueError) conflicting or invalid training settings
    ├── RolloutError           an environment or engine broke the episode contract
    └── CheckpointError        a checkpoint is missing or does not fit the run
"""

from __future__ import annotations


class RLError(Exception):
    """Root of every error raised by the ``rl`` package."""


class ConfigError(RLError, ValueError):
    """A :class:`~rl.config.GRPOConfig` value is invalid or conflicts with another; the message says
    the fix."""


class RolloutError(RLError):
    """An environment or rollout engine did something the episode loop cannot use."""


class CheckpointError(RLError):
    """A checkpoint cannot be found, read, or resumed into this run."""


def require(module: str, extra: str):
    """Import ``module`` or raise the verifiers' MissingDependencyError naming
    ``pip install 'rlvr[extra]'``."""
    from verifiers.errors import require as _require

    return _require(module, extra)
