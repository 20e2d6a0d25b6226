"""The runner image, built without a registry.

No image can be pulled on many clusters, so the default recipe builds a root filesystem from
Debian's packages with ``mmdebstrap`` and hands it to the engine with ``docker import``::

    mmdebstrap --variant=minbase --include=python3,gcc,g++ bookworm rootfs.tar
    docker import rootfs.tar rlvr-sandbox:1

When a base image is at hand, a Dockerfile can be used instead (``dockerfile=``). The image only
needs ``python3`` (the supervisor) plus whatever the programs under test run with; the default
recipe adds gcc and g++, and ``include=`` (``--include``) adds more Debian packages.

Example::

    from sandbox.docker.image import build_image
    info = build_image()                    # no-op when rlvr-sandbox:1 already exists
    info["tag"], info["id"]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any, Callable, Sequence

from sandbox.docker.engine import connect
from sandbox.errors import ImageMissingError, SandboxConfigError, SandboxUnavailableError

IMAGE_NAME = "rlvr-sandbox"
IMAGE_VERSION = "1"
"""Bumped whenever the recipe changes what programs can see; it is the default tag."""
DEFAULT_IMAGE = f"{IMAGE_NAME}:{IMAGE_VERSION}"
DEFAULT_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "gcc", "g++")
"""Always installed: the supervisor needs python3; ``code@1`` compiles C and C++ (~465 MB, ~70
s)."""
VERSION_LABEL = "rlvr.sandbox.image-version"
INCLUDES_LABEL = "rlvr.sandbox.includes"


def image_info(client: Any, tag: str) -> dict[str, Any]:
    """Tag, id, size and labels of image ``tag``; raises ImageMissingError when it is absent.

    Example::

        image_info(connect(), "rlvr-sandbox:1")["id"]   # 'sha256:...'
    """
    import docker

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound as exc:
        raise ImageMissingError(
            f"sandbox image {tag!r} is missing; build it with `rlvr sandbox build-image --tag "
            f"{tag}`"
        ) from exc
    except docker.errors.DockerException as exc:
        raise SandboxUnavailableError(f"cannot inspect image {tag!r}: {exc}") from exc
    return {
        "tag": tag,
        "id": image.id,
        "size_mb": round(image.attrs.get("Size", 0) / 1e6, 1),
        "created": image.attrs.get("Created"),
        "labels": dict(image.labels or {}),
    }


def mmdebstrap_command(
    output: str,
    *,
    suite: str = DEFAULT_SUITE,
    include: Sequence[str] = (),
    mirror: str | None = None,
) -> list[str]:
    """The ``mmdebstrap`` command line writing a minbase root filesystem tarball to ``output``."""
    packages = list(dict.fromkeys([*BASE_PACKAGES, *include]))
    for package in packages:
        if not package or not all(c.isalnum() or c in "+-.:" for c in package):
            raise SandboxConfigError(f"bad Debian package name {package!r} in --include")
    command = ["mmdebstrap", "--variant=minbase", f"--include={','.join(packages)}", suite, output]
    return command + [mirror] if mirror else command


def import_changes(include: Sequence[str]) -> list[str]:
    """Dockerfile instructions applied by ``docker import`` (environment, user, labels)."""
    packages = ",".join(dict.fromkeys([*BASE_PACKAGES, *include]))
    return [
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "ENV LANG=C.UTF-8",
        "USER 65534:65534",
        "WORKDIR /",
        f"LABEL {VERSION_LABEL}={IMAGE_VERSION}",
        f"LABEL {INCLUDES_LABEL}={packages}",
        'CMD ["python3"]',
    ]


def build_image(
    tag: str = DEFAULT_IMAGE,
    *,
    dockerfile: str | None = None,
    include: Sequence[str] = (),
    suite: str = DEFAULT_SUITE,
    mirror: str | None = None,
    force: bool = False,
    client: Any = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build the runner image (skipped when ``tag`` exists and not ``force``); return its info."""
    client = client or connect()
    if not force:
        try:
            info = image_info(client, tag)
            log(f"image {tag} already present ({info['id'][:19]}); use --force to rebuild")
            return info
        except ImageMissingError:
            pass
    if dockerfile:
        _build_from_dockerfile(client, tag, dockerfile, log)
    else:
        _build_from_debian(client, tag, include=include, suite=suite, mirror=mirror, log=log)
    info = image_info(client, tag)
    log(f"built {tag} ({info['id'][:19]}, {info['size_mb']} MB)")
    return info


def _build_from_debian(
    client: Any,
    tag: str,
    *,
    include: Sequence[str],
    suite: str,
    mirror: str | None,
    log: Callable[[str], None],
) -> None:
    if shutil.which("mmdebstrap") is None:
        raise SandboxConfigError(
            "mmdebstrap is not installed: `apt-get install -y mmdebstrap`, or pass --dockerfile "
            "PATH to build from a base image you have"
        )
    repository, _, version = (
        tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
    )
    with tempfile.TemporaryDirectory(prefix="rlvr-image-") as tmp:
        rootfs = os.path.join(tmp, "rootfs.tar")
        command = mmdebstrap_command(rootfs, suite=suite, include=include, mirror=mirror)
        log("$ " + " ".join(command))
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise SandboxUnavailableError(
                f"mmdebstrap failed (exit {done.returncode}); its last output:\n"
                f"{done.stdout[-2000:]}"
            )
        log(f"importing {os.path.getsize(rootfs) / 1e6:.0f} MB root filesystem as {tag}")
        client.api.import_image(
            src=rootfs, repository=repository, tag=version, changes=import_changes(include)
        )


def _build_from_dockerfile(
    client: Any, tag: str, dockerfile: str, log: Callable[[str], None]
) -> None:
    import docker

    if not os.path.isfile(dockerfile):
        raise SandboxConfigError(
            f"no Dockerfile at {dockerfile!r}; pass an existing file to --dockerfile"
        )
    context = os.path.dirname(os.path.abspath(dockerfile))
    log(f"building {tag} from {dockerfile}")
    try:
        _, lines = client.images.build(
            path=context,
            dockerfile=os.path.basename(dockerfile),
            tag=tag,
            labels={VERSION_LABEL: IMAGE_VERSION},
            rm=True,
            pull=False,
        )
    except docker.errors.BuildError as exc:
        raise SandboxUnavailableError(f"docker build of {dockerfile} failed: {exc}") from exc
    for line in lines:
        if line.get("stream", "").strip():
            log(line["stream"].rstrip())
