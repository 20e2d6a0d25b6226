"""The Docker sandbox backend: hardened warm containers driven through the ``docker`` Python SDK.

Every container has no network, a read-only root filesystem, size-limited tmpfs ``/workspace``
and ``/tmp``, a pids limit, a memory limit with swap equal to memory, a CPU quota, all
capabilities dropped, ``no-new-privileges``, user 65534, file-size and open-file ulimits, no
environment from the host and no mounts at all (the run's files travel over the supervisor
channel). See :mod:`sandbox.docker.pool` for reuse and cleanup, :mod:`sandbox.docker.supervisor` for
what happens inside.

Example::

    from sandbox.docker.backend import DockerSandbox
    with DockerSandbox() as box:
        result = box.run(["python3", "main.py"], files={"main.py": "print(6 * 7)"})
    result.stdout == b"42\\n" and result.details["image"] == "rlvr-sandbox:1"
"""

from __future__ import annotations

import base64
import os
import posixpath
import time
from typing import Any, Mapping, Sequence

from sandbox.base import Limits, RunResult, StopReason
from sandbox.errors import ImageMissingError, SandboxConfigError, SandboxUnavailableError
from sandbox.docker.engine import connect
from sandbox.docker.image import DEFAULT_IMAGE, image_info
from sandbox.docker.pool import ChannelBroken, ContainerSpec, WarmPool

ANSWER_GRACE_S = 15.0
"""How long past the run's wall limit the host waits for the supervisor before giving up on it."""
RETRY_BACKOFF_S = 0.2
"""Pause before retry ``n`` is ``n`` times this (the engine may be restarting)."""


def docker_available(image: str | None = None) -> bool:
    """True when an engine answers and ``image`` (default: the runner image) exists."""
    try:
        client = connect(timeout_s=3, attempts=1)
        image_info(client, image or default_image())
        return True
    except SandboxUnavailableError:
        return False


def default_image() -> str:
    """The runner image: ``$RLVR_SANDBOX_IMAGE`` or :data:`sandbox.docker.image.DEFAULT_IMAGE`."""
    return os.environ.get("RLVR_SANDBOX_IMAGE") or DEFAULT_IMAGE


class DockerSandbox:
    """Runs commands in warm, hardened Docker containers (see the module docstring).

    ``pool_size`` bounds the containers alive at once (one run per container at a time, so it
    is also the parallelism); ``retries`` bounds how often a run is retried on a fresh container
    after an infrastructure failure before :class:`SandboxUnavailableError` is raised.
    """

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        *,
        pool_size: int = 2,
        retries: int = 2,
        limits: Limits | None = None,
        client: Any = None,
    ):
        if retries < 0:
            raise SandboxConfigError(f"retries must be >= 0, got {retries}")
        self.image = image or default_image()
        self.default_limits = limits or Limits()
        self.retries = retries
        self._client = client or connect()
        self.image_id = image_info(self._client, self.image)["id"]
        self.pool = WarmPool(self._client, self.image, max_size=pool_size)

    def __enter__(self) -> "DockerSandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def details(self) -> dict[str, Any]:
        """What every result records: isolation, image tag and image id (its content digest)."""
        return {
            "isolation": "docker",
            "network_isolated": True,
            "image": self.image,
            "image_id": self.image_id,
            "image_digest": self.image_id,
        }

    def warm(self, count: int = 1, limits: Limits | None = None) -> None:
        """Start ``count`` containers now so that the first runs do not pay for a start."""
        self.pool.warm(ContainerSpec.from_limits(limits or self.default_limits), count)

    def run(
        self,
        command: Sequence[str],
        *,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> RunResult:
        """Run ``command`` in ``/workspace`` holding ``files``; see
        :class:`sandbox.base.Sandbox`."""
        limits = limits or self.default_limits
        request = build_request(command, files or {}, stdin, limits)
        spec = ContainerSpec.from_limits(limits)
        failures: list[str] = []
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(RETRY_BACKOFF_S * attempt)
            answer = self._attempt(spec, request, limits, failures)
            if answer is not None:
                return self._result(answer)
        raise SandboxUnavailableError(
            f"the Docker sandbox failed {len(failures)} times: {' | '.join(failures)}"
        )

    def close(self) -> None:
        """Remove every container of this sandbox."""
        self.pool.close()

    # -- internals ----------------------------------------------------------------------
    def _attempt(
        self, spec: ContainerSpec, request: dict[str, Any], limits: Limits, failures: list[str]
    ) -> dict[str, Any] | None:
        try:
            worker = self.pool.acquire(spec)
        except ImageMissingError:
            raise
        except SandboxUnavailableError as exc:
            failures.append(str(exc))
            return None
        healthy = False
        try:
            answer = worker.call(request, timeout_s=limits.wall_s + ANSWER_GRACE_S)
            healthy = bool(answer.get("clean"))
        except ChannelBroken as exc:
            failures.append(str(exc))
            return None
        finally:  # also on KeyboardInterrupt: an interrupted container is destroyed
            self.pool.release(worker, healthy=healthy)
        if answer.get("error") == "exec_failed":
            raise SandboxUnavailableError(
                f"cannot start {request['argv'][0]!r} in image {self.image!r} "
                f"({answer['message']}); "
                "rebuild the image with the interpreter: rlvr sandbox build-image --include PACKAGE"
            )
        if "error" in answer:
            failures.append(f"{answer['error']}: {answer.get('message')}")
            return None
        return answer

    def _result(self, answer: dict[str, Any]) -> RunResult:
        details = dict(self.details)
        if answer.get("signal") is not None:
            details["signal"] = answer["signal"]
        return RunResult(
            exit_code=answer["exit_code"],
            stdout=base64.b64decode(answer["stdout"]),
            stderr=base64.b64decode(answer["stderr"]),
            duration_s=float(answer["duration_s"]),
            stop=StopReason(answer["stop"]),
            stdout_truncated=bool(answer["stdout_truncated"]),
            stderr_truncated=bool(answer["stderr_truncated"]),
            backend=self.name,
            details=details,
        )


def build_request(
    command: Sequence[str], files: Mapping[str, str | bytes], stdin: str | bytes, limits: Limits
) -> dict[str, Any]:
    """The supervisor's ``run`` message; raises SandboxConfigError on a bad command or path."""
    if (
        isinstance(command, (str, bytes))
        or not command
        or not all(isinstance(a, str) for a in command)
    ):
        raise SandboxConfigError(
            "command must be a non-empty list of strings, e.g. ['python3', 'main.py'], got "
            f"{command!r}"
        )
    return {
        "op": "run",
        "argv": list(command),
        "files": {_check_path(path): _b64(content) for path, content in files.items()},
        "stdin": _b64(stdin),
        "wall_s": limits.wall_s,
        "cpu_s": limits.cpu_s if limits.cpu_s is not None else limits.wall_s + 1.0,
        "output_bytes": limits.output_bytes,
        "file_size_bytes": limits.file_size_mb * 1024 * 1024,
        "open_files": limits.open_files,
    }


def _check_path(path: str) -> str:
    normal = posixpath.normpath(path) if isinstance(path, str) else ""
    escapes = normal == ".." or normal.startswith("../")
    if not normal or normal.startswith("/") or escapes or normal == "." or "\0" in normal:
        raise SandboxConfigError(
            f"file path {path!r} must be relative and stay inside the workspace, e.g. 'main.py'"
        )
    return normal


def _b64(content: str | bytes) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return base64.b64encode(data).decode("ascii")
