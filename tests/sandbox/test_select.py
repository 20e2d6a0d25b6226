"""Backend selection: ``open_sandbox(kind)``, ``$RLVR_SANDBOX`` and the auto rule."""

from __future__ import annotations

import pytest

import sandbox
from sandbox import (
    ImageMissingError,
    SandboxConfigError,
    SandboxUnavailableError,
    open_sandbox,
    resolve_kind,
)

UNREACHABLE = "unix:///nonexistent/rlvr-docker.sock"


@pytest.mark.parametrize(
    "kind, env, expected",
    [
        (None, None, "auto"),
        (None, "local", "local"),
        (None, " Docker ", "docker"),
        ("local", "docker", "local"),  # an explicit kind wins over the environment
        ("auto", "local", "auto"),
    ],
)
def test_resolve_kind(monkeypatch, kind, env, expected):
    if env is None:
        monkeypatch.delenv("RLVR_SANDBOX", raising=False)
    else:
        monkeypatch.setenv("RLVR_SANDBOX", env)
    assert resolve_kind(kind) == expected


def test_unknown_kind_suggests_the_closest(monkeypatch):
    with pytest.raises(
        SandboxConfigError, match=r"unknown sandbox kind 'dokcer'.*did you mean 'docker'\?"
    ):
        resolve_kind("dokcer")
    monkeypatch.setenv("RLVR_SANDBOX", "lokal")
    with pytest.raises(
        SandboxConfigError, match=r"unknown sandbox \$RLVR_SANDBOX 'lokal'.*'local'"
    ):
        open_sandbox()


def test_local_kind_opens_the_local_backend():
    with open_sandbox("local") as box:
        assert box.name == "local"
        assert box.run(["echo", "hi"]).stdout == b"hi\n"


def test_auto_falls_back_to_local_without_an_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", UNREACHABLE)
    monkeypatch.delenv("RLVR_SANDBOX", raising=False)
    with open_sandbox(pool_size=1) as box:  # a docker-only option is dropped for local
        assert box.name == "local"


def test_docker_kind_without_an_engine_is_unavailable(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", UNREACHABLE)
    with pytest.raises(SandboxUnavailableError, match="no Docker engine answers.*--sandbox local"):
        open_sandbox("docker")


def test_options_the_backend_does_not_take_are_misuse():
    with pytest.raises(SandboxConfigError, match="bad option for the local sandbox"):
        open_sandbox("local", pool_size=3)


@pytest.mark.docker
def test_auto_picks_docker_when_reachable(docker_client, monkeypatch):
    monkeypatch.delenv("RLVR_SANDBOX", raising=False)
    with open_sandbox(pool_size=1) as box:
        assert box.name == "docker"
        assert box.run(["python3", "-c", "print(1)"]).backend == "docker"


@pytest.mark.docker
def test_environment_variable_selects_the_backend(docker_client, monkeypatch):
    monkeypatch.setenv("RLVR_SANDBOX", "docker")
    with open_sandbox(pool_size=1) as box:
        assert box.name == "docker"
    monkeypatch.setenv("RLVR_SANDBOX", "local")
    with open_sandbox() as box:
        assert box.name == "local"


@pytest.mark.docker
def test_missing_image(docker_client, monkeypatch):
    monkeypatch.setenv("RLVR_SANDBOX_IMAGE", "rlvr-sandbox:no-such-version")
    with pytest.raises(ImageMissingError, match="missing; build it with `rlvr sandbox build-image"):
        open_sandbox("docker")
    with open_sandbox("auto") as box:
        assert box.name == "local"


def test_public_names():
    assert set(sandbox.BACKENDS) == {"auto", "docker", "local"}
    assert {"open_sandbox", "Limits", "RunResult", "StopReason", "Sandbox"} <= set(sandbox.__all__)
