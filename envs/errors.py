"""Exceptions raised by the ``envs`` package.

Misuse raises; a model's bad completion never does (it becomes a verdict and a reward)::

    EnvError
    ├── TaskSourceError     (also ValueError) a task file / dataset cannot be read; names the row
    ├── EnvConfigError      (also ValueError) an environment was configured inconsistently
    │   └── QuarantineError  training tasks match the isolation list (evaluation sets): refused
    └── EnvStateError       (also RuntimeError) step() before reset(), or after the episode ended
"""

from __future__ import annotations


class EnvError(Exception):
    """Root of every error raised by the ``envs`` package."""


class TaskSourceError(EnvError, ValueError):
    """A task source is unreadable or a row is malformed; the message names the source and row."""


class EnvConfigError(EnvError, ValueError):
    """An environment's configuration is inconsistent; the message says the fix."""


class EnvStateError(EnvError, RuntimeError):
    """The environment was driven out of order (e.g. ``step`` before ``reset``)."""


class QuarantineError(EnvConfigError):
    """Training tasks match the isolation list and the gate refuses them; ``report`` names every
    hit."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report
