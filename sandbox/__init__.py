"""rlvr sandbox: run untrusted programs over files, isolated and bounded.

Two backends implement the :class:`Sandbox` protocol: ``docker`` (warm pool of hardened
containers; the default whenever an engine answers and the runner image exists) and ``local``
(child processes with rlimits, for hosts without Docker). Pick one with :func:`open_sandbox`::

    import sandbox
    with sandbox.open_sandbox() as box:            # $RLVR_SANDBOX, else auto
        result = box.run(["python3", "-c", "print(6 * 7)"], limits=sandbox.Limits(wall_s=2))
    result.stdout == b"42\\n"

The sandbox package knows nothing about verifiers; ``verifiers.code`` builds on it.
:class:`FakeSandbox` answers runs from a handler without running anything, for testing your own
code that takes a sandbox.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

from sandbox.base import Limits, RunResult, Sandbox, StopReason
from sandbox.errors import (
    ImageMissingError,
    SandboxConfigError,
    SandboxError,
    SandboxUnavailableError,
)
from sandbox.fake import FakeCall, FakeSandbox

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "FakeCall",
    "FakeSandbox",
    "ImageMissingError",
    "Limits",
    "RunResult",
    "Sandbox",
    "SandboxConfigError",
    "SandboxError",
    "SandboxUnavailableError",
    "StopReason",
    "open_sandbox",
    "resolve_kind",
]

BACKENDS = ("auto", "docker", "local")
"""Accepted values of ``kind`` and of ``$RLVR_SANDBOX``."""
ENV_VAR = "RLVR_SANDBOX"


def resolve_kind(kind: str | None = None) -> str:
    """``kind`` if given, else ``$RLVR_SANDBOX``, else ``"auto"``; validated.

    Example::

        resolve_kind("docker")   # 'docker'
    """
    chosen = (kind or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if chosen not in BACKENDS:
        import difflib

        close = difflib.get_close_matches(chosen, BACKENDS, n=1)
        hint = f" - did you mean {close[0]!r}?" if close else ""
        source = "kind" if kind else f"${ENV_VAR}"
        raise SandboxConfigError(
            f"unknown sandbox {source} {chosen!r}; choose one of {', '.join(BACKENDS)}{hint}"
        )
    return chosen


def open_sandbox(kind: str | None = None, **options: Any) -> Sandbox:
    """Open a sandbox backend: ``"docker"``, ``"local"`` or ``"auto"`` (default ``$RLVR_SANDBOX``).

    ``auto`` picks Docker when an engine answers and the runner image exists, else local.
    ``options`` go to the backend's constructor; with ``auto``, options the chosen backend does
    not take are dropped (so ``open_sandbox(pool_size=4)`` works either way). ``docker`` raises
    :class:`SandboxUnavailableError` / :class:`ImageMissingError` when it cannot run.

    Example::

        box = open_sandbox("local")
        box.run(["echo", "hi"]).stdout      # b'hi\\n'
        box.close()
    """
    chosen = resolve_kind(kind)
    if chosen == "auto":
        from sandbox.docker.backend import docker_available

        chosen = "docker" if docker_available(options.get("image")) else "local"
        if chosen == "local":
            logging.getLogger("rlvr.sandbox").info(
                "sandbox auto: no Docker engine with the runner image here, using the local "
                "backend (weaker isolation; see `rlvr sandbox status`)"
            )
        backend = _backend_class(chosen)
        options = _accepted(backend, options)
    else:
        backend = _backend_class(chosen)
    try:
        return backend(**options)
    except TypeError as exc:
        raise SandboxConfigError(f"bad option for the {chosen} sandbox: {exc}") from exc


def _backend_class(kind: str) -> type:
    if kind == "docker":
        from sandbox.docker.backend import DockerSandbox

        return DockerSandbox
    from sandbox.local import LocalSandbox

    return LocalSandbox


def _accepted(backend: type, options: dict[str, Any]) -> dict[str, Any]:
    parameters = inspect.signature(backend.__init__).parameters
    return {name: value for name, value in options.items() if name in parameters}
