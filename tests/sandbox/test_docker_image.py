"""The runner image: the mmdebstrap recipe, Dockerfile builds, and the ``rlvr sandbox`` commands."""

from __future__ import annotations

import json

import pytest

from sandbox import SandboxConfigError
from sandbox.docker.image import DEFAULT_IMAGE, build_image, import_changes, mmdebstrap_command


@pytest.mark.parametrize(
    "include, mirror, expected",
    [
        (
            (),
            None,
            ["mmdebstrap", "--variant=minbase", "--include=python3,gcc,g++", "bookworm", "/o.tar"],
        ),
        (
            ("nodejs", "gcc", "python3"),
            None,
            [
                "mmdebstrap",
                "--variant=minbase",
                "--include=python3,gcc,g++,nodejs",
                "bookworm",
                "/o.tar",
            ],
        ),
        (
            (),
            "http://deb.debian.org/debian",
            [
                "mmdebstrap",
                "--variant=minbase",
                "--include=python3,gcc,g++",
                "bookworm",
                "/o.tar",
                "http://deb.debian.org/debian",
            ],
        ),
    ],
)
def test_mmdebstrap_command(include, mirror, expected):
    assert mmdebstrap_command("/o.tar", include=include, mirror=mirror) == expected


@pytest.mark.parametrize("bad", ["gcc;rm -rf /", "", "a b"])
def test_bad_package_names_are_refused(bad):
    with pytest.raises(SandboxConfigError, match="bad Debian package name"):
        mmdebstrap_command("/o.tar", include=[bad])


def test_import_changes_set_an_unprivileged_user_and_a_version_label():
    changes = import_changes(["nodejs"])
    assert "USER 65534:65534" in changes
    assert "LABEL rlvr.sandbox.image-version=1" in changes
    assert "LABEL rlvr.sandbox.includes=python3,gcc,g++,nodejs" in changes


def test_default_tag_carries_the_version():
    assert DEFAULT_IMAGE == "rlvr-sandbox:1"


@pytest.mark.docker
def test_build_is_a_no_op_when_the_image_exists(docker_client):
    from sandbox.docker.backend import default_image

    messages = []
    info = build_image(default_image(), client=docker_client, log=messages.append)
    assert info["id"] == docker_client.images.get(default_image()).id
    assert "already present" in messages[0]


@pytest.mark.docker
def test_build_from_a_dockerfile(docker_client, tmp_path):
    from sandbox.docker.backend import DockerSandbox, default_image

    (tmp_path / "Dockerfile").write_text(f"FROM {default_image()}\nLABEL purpose=test\n")
    tag = "rlvr-sandbox-test:dockerfile"
    try:
        info = build_image(
            tag, dockerfile=str(tmp_path / "Dockerfile"), client=docker_client, log=lambda m: None
        )
        assert info["labels"]["purpose"] == "test"
        with DockerSandbox(tag, pool_size=1, client=docker_client) as box:
            result = box.run(["python3", "-c", "print('from dockerfile')"])
        assert result.stdout == b"from dockerfile\n" and result.details["image"] == tag
    finally:
        docker_client.images.remove(tag, force=True)


def test_missing_dockerfile_is_misuse(tmp_path):
    with pytest.raises(SandboxConfigError, match="no Dockerfile at"):
        from sandbox.docker.image import _build_from_dockerfile

        _build_from_dockerfile(None, "x:1", str(tmp_path / "Dockerfile"), print)


@pytest.mark.docker
def test_cli_status_and_build_image(docker_client, capsys):
    from rl.cli import main

    assert main(["sandbox", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["engine"] and status["image"]["tag"] and status["problems"] == []
    assert main(["sandbox", "build-image"]) == 0
    assert "already present" in capsys.readouterr().out
    assert main(["sandbox", "reap"]) == 0
    assert "leftover container(s)" in capsys.readouterr().out


def test_cli_status_without_an_engine(monkeypatch, capsys):
    from rl.cli import main

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/rlvr-docker.sock")
    assert main(["sandbox", "status"]) == 1
    out = capsys.readouterr().out
    assert "engine:     unreachable" in out and "problem:    no Docker engine answers" in out
