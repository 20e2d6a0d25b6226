"""Exceptions raised by the ``envs`` package.

Misuse raises; a model's bad completion never does (it becomes a verdict and a reward)::

    EnvError
    ├── TaskSourceError     (also ValueError) a task file / dataset cannot be read; names the row
    ├── EnvConfigError      (also ValueError) an environment was configured inconsistently
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
