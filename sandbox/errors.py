"""Exceptions of the ``sandbox`` package::

SandboxError
├── SandboxUnavailableError   the backend cannot run anything (engine down, image missing)
│   └── ImageMissingError     the runner image is not built: run `rlvr sandbox build-image`
└── SandboxConfigError        (also ValueError) bad backend name or option
"""


class SandboxError(Exception):
    """Root of every error raised by the ``sandbox`` package."""


class SandboxUnavailableError(SandboxError):
    """Infrastructure failure: nothing was run. Callers report it as ``error``, never ``fail``."""


class ImageMissingError(SandboxUnavailableError):
    """The runner image is absent; build it with ``rlvr sandbox build-image``."""


class SandboxConfigError(SandboxError, ValueError):
    """A backend name or option is invalid."""
