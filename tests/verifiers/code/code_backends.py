"""Shared fixtures for the code@1 tests: one sandbox per backend, reused across a module.

``local`` always runs. ``docker`` needs a reachable engine and the runner image: outside CI it
is skipped with the reason printed; in CI (``CI=true``) its absence FAILS the test.
"""

from __future__ import annotations

import os

import pytest

from sandbox.base import Limits
import secrets

from sandbox.local import LocalSandbox, processes_in_uid_range

_FIRST = 3_100_000_000 + secrets.randbelow(10_000) * 10_000
TEST_UIDS = (_FIRST, _FIRST + 10_000)
"""Per-run uids of the test sandboxes: private, so other jobs' concurrent runs are not leftovers."""

BACKENDS = ("local", "docker")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


_UNAVAILABLE: dict[str, str] = {}
"""Backends found unusable in this session, with the reason (probed once, not per test)."""


def open_backend(kind: str):
    """A ready sandbox of ``kind``, or skip (fail in CI) with the reason."""
    if kind == "local":
        return LocalSandbox(uid_range=TEST_UIDS)
    if kind in _UNAVAILABLE:
        return _unavailable(_UNAVAILABLE[kind])
    try:
        from sandbox import open_sandbox  # written by the Docker backend's author
    except ImportError as exc:
        _UNAVAILABLE[kind] = f"sandbox.open_sandbox is not available: {exc}"
        return _unavailable(_UNAVAILABLE[kind])
    try:
        box = open_sandbox("docker")
        probe = box.run(["python3", "-c", "print(1)"], limits=Limits(wall_s=30))
        if probe.stdout.strip() != b"1":
            raise RuntimeError(
                f"probe run printed {probe.stdout!r} (stderr {probe.stderr[-200:]!r})"
            )
        return box
    except Exception as exc:  # engine down, image missing...
        _UNAVAILABLE[kind] = f"docker backend unavailable: {type(exc).__name__}: {exc}"
        return _unavailable(_UNAVAILABLE[kind])


def _unavailable(reason: str):
    if in_ci():
        pytest.fail(f"{reason} (CI=true: Docker tests must run in CI)")
    print(f"SKIP docker backend: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    """A sandbox per backend kind, shared by the tests of one module."""
    box = open_backend(request.param)
    yield box
    box.close()


def leftover_local_processes() -> list[int]:
    """Processes still owned by a per-run uid of the test sandboxes (non-zombie)."""
    return processes_in_uid_range(*TEST_UIDS)
