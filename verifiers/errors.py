"""Exceptions raised by the ``verifiers`` package.

Misuse raises; a model's wrong answer never does (it becomes a :class:`~verifiers.Verdict`).
Every exception here descends from :class:`VerifierError`::

    VerifierError
    ├── UnknownVerifierError      (also LookupError) unknown name, with "did you mean ...?"
    ├── UnknownVersionError       (also LookupError) known name, missing version
    ├── DuplicateVerifierError    the same name@version registered twice
    ├── InvalidSpecError          (also ValueError) "name@version" does not parse
    ├── BadReferenceError         (also ValueError) the reference / test material is malformed
    └── MissingDependencyError    (also ImportError) an optional extra is not installed
"""

from __future__ import annotations


class VerifierError(Exception):
    """Root of every error raised by the ``verifiers`` package."""


class UnknownVerifierError(VerifierError, LookupError):
    """No verifier is registered under that name."""


class UnknownVersionError(VerifierError, LookupError):
    """The verifier exists but not in the version asked for."""


class DuplicateVerifierError(VerifierError):
    """A ``name@version`` was registered twice."""


class InvalidSpecError(VerifierError, ValueError):
    """A verifier spec is not of the form ``name`` or ``name@version``."""


class BadReferenceError(VerifierError, ValueError):
    """The reference (gold answer, schema, tests) is malformed: the dataset is wrong, not the model.

    Raised inside ``check``; :class:`~verifiers.base.BaseVerifier` turns it into an ``error``
    verdict with code ``bad_reference``.
    """


class MissingDependencyError(VerifierError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def require(module: str, extra: str):
    """Import ``module`` or raise :class:`MissingDependencyError` naming
    ``pip install 'rlvr[extra]'``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module!r} is not installed; install it with: pip install 'rlvr[{extra}]'"
        ) from exc
