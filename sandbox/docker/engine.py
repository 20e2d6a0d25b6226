"""Connecting to the Docker engine: :func:`connect`, shared by the image builder and the backend."""

from __future__ import annotations

import time
from typing import Any

from sandbox.errors import SandboxUnavailableError


def connect(timeout_s: float = 10.0, *, attempts: int = 3) -> Any:
    """A ``docker`` client whose engine answered a ping; raises SandboxUnavailableError otherwise.

    Retries ``attempts`` times with a short back-off (the engine may be restarting).

    Example::

        client = connect()
        client.version()["Version"]
    """
    try:
        import docker
    except ImportError as exc:
        raise SandboxUnavailableError(
            "the Docker sandbox needs the docker SDK: pip install 'rlvr[docker]'"
        ) from exc
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            client = docker.from_env(timeout=int(timeout_s))
            client.ping()
            return client
        except Exception as exc:  # DockerException, requests errors, socket errors
            last = exc
            time.sleep(0.2 * (attempt + 1) if attempt + 1 < attempts else 0)
    raise SandboxUnavailableError(
        f"no Docker engine answers ({last}); start one (e.g. `dockerd &` as root, or "
        "`bash .ci/docker`) or use the local sandbox: --sandbox local"
    )
