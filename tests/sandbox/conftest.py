"""Fixtures for sandbox tests.

Tests marked ``docker`` need a reachable engine and the runner image. In CI (``CI=true``) their
absence is a failure with the reason; elsewhere they skip with the reason printed (``-ra``).
One warm :class:`DockerSandbox` is shared by the whole session to keep the suite fast.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def docker_problem() -> str | None:
    """Why the Docker sandbox cannot be tested here, or None when it can."""
    from sandbox.docker.backend import default_image
    from sandbox.docker.engine import connect
    from sandbox.docker.image import image_info
    from sandbox.errors import SandboxError

    try:
        image_info(connect(timeout_s=5, attempts=2), default_image())
    except SandboxError as exc:
        return str(exc)
    return None


def require_docker() -> None:
    """Fail (CI) or skip (elsewhere) with the reason when Docker cannot be tested."""
    problem = docker_problem()
    if problem is None:
        return
    message = f"Docker sandbox unavailable: {problem} (run `bash .ci/docker` as root to set it up)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client():
    """A client of the engine the Docker tests run against."""
    require_docker()
    from sandbox.docker.engine import connect

    return connect()


@pytest.fixture(scope="session")
def docker_box(docker_client):
    """The session's shared warm Docker sandbox (two containers)."""
    from sandbox.docker.backend import DockerSandbox

    box = DockerSandbox(pool_size=2, client=docker_client)
    yield box
    box.close()


def owned_containers(client, owner: str | None = None) -> list[str]:
    """Ids of sandbox containers (any state) created by ``owner`` (default: this process)."""
    from sandbox.docker.pool import owner_id, sandbox_containers

    return sorted(c.id for c in sandbox_containers(client, owner or owner_id()))


@pytest.fixture(name="owned_containers")
def _owned_containers_fixture():
    """The :func:`owned_containers` helper."""
    return owned_containers
