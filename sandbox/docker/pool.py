"""A warm pool of hardened, long-lived sandbox containers.

Starting a container costs ~800 ms and ``docker exec`` ~120 ms; a run in a warm container costs
about what starting the program costs. Each container runs the trusted supervisor
(:mod:`sandbox.docker.supervisor`) as PID 1, which gives every run a fresh workspace and fresh
processes and proves the container pristine afterwards; a container that is not is destroyed and
replaced.

Containers are labelled ``rlvr.sandbox=1`` and ``rlvr.sandbox.owner=<host>:<pid>:<start time>``.
Nothing outlives its grader:

* normal exit and Ctrl-C: :meth:`WarmPool.close` (also run ``atexit``) removes them;
* a killed grader: its attach socket closes, the engine closes the container's stdin
  (``stdin_once``), the supervisor exits on EOF and the container removes itself (``auto_remove``);
* anything else: :func:`reap_orphans`, run when a pool starts, removes containers whose owner
  process on this host is gone.

Example::

    pool = WarmPool(connect(), image="rlvr-sandbox:1", max_size=2)
    worker = pool.acquire(ContainerSpec.from_limits(Limits()))
    answer = worker.call({"op": "ping"}, timeout_s=5)
    pool.release(worker, healthy=answer.get("clean", False))
    pool.close()
"""

from __future__ import annotations

import atexit
import importlib.util
import inspect
import json
import os
import socket
import struct
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sandbox.base import Limits
from sandbox.docker import supervisor
from sandbox.errors import SandboxUnavailableError

LABEL = "rlvr.sandbox"
"""Every sandbox container carries ``LABEL=1``."""
OWNER_LABEL = "rlvr.sandbox.owner"
"""``<hostname>:<pid>:<process start time>`` of the process that created the container."""
SUPERVISOR_HEADROOM_MB = 48
"""Memory added to the run's limit for the supervisor and its zygote (Python, ~10 MB resident
each)."""


@dataclass(frozen=True)
class ContainerSpec:
    """The limits fixed when a container is created; runs with the same spec share containers."""

    memory_mb: int
    """Run memory (cgroup limit = this + supervisor headroom, swap = memory)."""
    cpus: float
    """CPU quota in cores."""
    pids: int
    """Processes of the run (cgroup pids limit = this + 2 for the supervisor and its zygote)."""
    tmpfs_mb: int
    """Size of each of the ``/workspace`` (exec: compiled programs run there) and ``/tmp`` tmpfs
    mounts."""
    file_size_mb: int
    """Hard RLIMIT_FSIZE of the container."""
    open_files: int
    """Hard RLIMIT_NOFILE of the container (the supervisor needs a few more than the run)."""

    @classmethod
    def from_limits(cls, limits: Limits) -> "ContainerSpec":
        return cls(
            limits.memory_mb,
            limits.cpus,
            limits.pids,
            limits.tmpfs_mb,
            limits.file_size_mb,
            limits.open_files,
        )

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``client.containers.create`` for these limits (the hardening)."""
        from docker.types import LogConfig, Ulimit

        memory = f"{self.memory_mb + SUPERVISOR_HEADROOM_MB}m"
        tmpfs = f"rw,nosuid,nodev,size={self.tmpfs_mb}m,mode=1777"  # Docker adds noexec unless told
        fsize = self.file_size_mb * 1024 * 1024
        nofile = max(self.open_files, 64) + 16
        return dict(
            user="65534:65534",
            network_mode="none",
            read_only=True,
            tmpfs={"/workspace": tmpfs + ",exec", "/tmp": tmpfs},
            ipc_mode="private",
            shm_size=min(self.tmpfs_mb, 64) * 1024 * 1024,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(self.cpus * 1e9),
            pids_limit=self.pids + 2,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            ulimits=[
                Ulimit(name="fsize", soft=fsize, hard=fsize),
                Ulimit(name="nofile", soft=nofile, hard=nofile),
                Ulimit(name="core", soft=0, hard=0),
            ],
            environment={},
            hostname="sandbox",
            working_dir="/",
            stdin_open=True,
            tty=False,
            auto_remove=True,
            log_config=LogConfig(type="none"),
        )


class ChannelBroken(Exception):
    """The container stopped answering (died, engine gone, or timed out)."""


class Channel:
    """Framed JSON messages over a container's attached stdin (raw) and stdout (multiplexed)."""

    def __init__(self, attached: Any):
        self._attached = attached  # keeps the HTTP response (and so the socket) alive
        self._sock: socket.socket = getattr(attached, "_sock", attached)
        self._raw = bytearray()
        self._stdout = bytearray()
        self.stderr_tail = bytearray()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        try:
            self._sock.sendall(supervisor.MAGIC + struct.pack(">Q", len(body)) + body)
        except OSError as exc:
            raise ChannelBroken(f"cannot send to the container: {exc}") from exc

    def receive(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._parse_message()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelBroken(f"no answer from the container within {timeout_s:.1f} s")
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError as exc:
                raise ChannelBroken(f"connection to the container failed: {exc}") from exc
            if not data:
                raise ChannelBroken("the container closed its output" + self._stderr_note())
            self._raw += data
            self._demultiplex()

    def call(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        self.send(message)
        return self.receive(timeout_s)

    def close(self) -> None:
        for closable in (self._sock, self._attached):
            try:
                closable.close()
            except Exception:
                pass

    def _demultiplex(self) -> None:
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                return
            payload = bytes(self._raw[8 : 8 + size])
            del self._raw[: 8 + size]
            if stream == 1:
                self._stdout += payload
            else:
                self.stderr_tail = (self.stderr_tail + payload)[-4000:]

    def _parse_message(self) -> dict[str, Any] | None:
        if len(self._stdout) < 12:
            return None
        if self._stdout[:4] != supervisor.MAGIC:
            raise ChannelBroken(f"garbled output from the supervisor: {bytes(self._stdout[:40])!r}")
        size = struct.unpack(">Q", self._stdout[4:12])[0]
        if len(self._stdout) < 12 + size:
            return None
        body = bytes(self._stdout[12 : 12 + size])
        del self._stdout[: 12 + size]
        return json.loads(body)

    def _stderr_note(self) -> str:
        tail = self.stderr_tail.decode("utf-8", "replace").strip()
        return f"; supervisor stderr: {tail[-500:]}" if tail else ""


class Worker:
    """One warm container with its supervisor channel."""

    def __init__(self, container: Any, channel: Channel, spec: ContainerSpec):
        self.container = container
        self.channel = channel
        self.spec = spec
        self.runs = 0

    @property
    def id(self) -> str:
        return self.container.id

    def call(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        return self.channel.call(message, timeout_s)

    def destroy(self) -> None:
        """Close the channel (the supervisor then exits) and force-remove the container."""
        self.channel.close()
        _remove_quietly(self.container)


def sandbox_containers(client: Any, owner: str | None = None) -> list[Any]:
    """The sandbox containers (any state; only ``owner``'s when given), listed without inspecting
    each one.

    docker-py inspects every container a full ``list`` returns, so a container removed between the
    list and its inspection makes the whole call raise ``NotFound``; a sparse list cannot race like
    that. Read what a sparse container holds with :func:`container_labels` and
    :func:`container_state`.
    """
    label = f"{OWNER_LABEL}={owner}" if owner else f"{LABEL}=1"
    return client.containers.list(all=True, sparse=True, filters={"label": label})


def container_labels(container: Any) -> dict[str, str]:
    """The labels of a container from a sparse list."""
    return dict(container.attrs.get("Labels") or {})


def container_state(container: Any) -> str:
    """``running``, ``exited``, ... of a container from a sparse list."""
    state = container.attrs.get("State")
    return state if isinstance(state, str) else str((state or {}).get("Status", ""))


def _remove_quietly(container: Any) -> None:
    try:
        container.remove(force=True)
    except Exception:  # already gone (auto_remove) or engine gone: nothing to do
        pass


ZYGOTE_LINE = 'ZYGOTE_SOURCE = ""\n'
"""The line of :mod:`sandbox.docker.supervisor` that :func:`supervisor_source` fills in."""


def supervisor_source() -> str:
    """The supervisor program passed to ``python3 -c`` (the image stays free of rlvr code).

    Its ``ZYGOTE_SOURCE`` holds the text of :mod:`sandbox.docker.zygote`, spliced in here.

    Example::

        compile(supervisor_source(), "<supervisor>", "exec")
    """
    lines = inspect.getsource(supervisor).splitlines(keepends=True)
    if lines.count(ZYGOTE_LINE) != 1:
        raise SandboxUnavailableError(
            f"sandbox/docker/supervisor.py must hold the line {ZYGOTE_LINE.strip()!r} once (the "
            "zygote program is spliced in there); restore it or reinstall rlvr"
        )
    lines[lines.index(ZYGOTE_LINE)] = f"ZYGOTE_SOURCE = {zygote_source()!r}\n"
    return "".join(lines)


def zygote_source() -> str:
    """The text of :mod:`sandbox.docker.zygote`, read without importing (running) it."""
    name = "sandbox.docker.zygote"
    return importlib.util.find_spec(name).loader.get_source(name)


def owner_id(pid: int | None = None) -> str:
    """``<hostname>:<pid>:<start time>``: names a process uniquely on this host."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # not ours to judge: another machine sharing the engine
    return _start_time(int(pid)) == start and start != "?"


def reap_orphans(client: Any) -> list[str]:
    """Remove sandbox containers whose owning process on this host is gone; return their ids.

    Example::

        removed = reap_orphans(connect())
    """
    import docker

    removed: list[str] = []
    try:
        containers = sandbox_containers(client)
    except docker.errors.DockerException:
        return removed  # the engine is flaky: the next pool start tries again
    for container in containers:
        owner = container_labels(container).get(OWNER_LABEL, "")
        if not _owner_alive(owner):
            _remove_quietly(container)
            removed.append(container.id)
    return removed


_LIVE_POOLS: "weakref.WeakSet[WarmPool]" = weakref.WeakSet()


def live_container_ids() -> set[str]:
    """Ids of the containers held by every open pool of this process (for audits and tests)."""
    return {cid for pool in list(_LIVE_POOLS) for cid in pool.container_ids()}


@atexit.register
def _close_all_pools() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()


class WarmPool:
    """Hands out warm containers, one run at a time each, creating them on demand.

    ``max_size`` bounds how many containers exist at once; a caller beyond it waits for one to be
    released. Containers of a different :class:`ContainerSpec` are evicted when room is needed.
    """

    def __init__(
        self,
        client: Any,
        image: str,
        *,
        max_size: int = 4,
        max_runs: int = 1000,
        start_timeout_s: float = 30.0,
    ):
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        self._client = client
        self.image = image
        self.max_size = max_size
        self.max_runs = max_runs
        self.start_timeout_s = start_timeout_s
        self._lock = threading.Condition()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._pid = os.getpid()
        self._closed = False
        self.reaped = reap_orphans(client)
        _LIVE_POOLS.add(self)

    # -- public -------------------------------------------------------------------------
    def acquire(self, spec: ContainerSpec) -> Worker:
        """A warm container for ``spec`` (started if needed); raises SandboxUnavailableError."""
        self._after_fork()
        evicted = None
        with self._lock:
            while True:
                if self._closed:
                    raise SandboxUnavailableError("the sandbox pool is closed; open a new sandbox")
                worker = next((w for w in self._idle if w.spec == spec), None)
                if worker is not None:
                    self._idle.remove(worker)
                    self._busy.add(worker)
                    return worker
                if len(self._idle) + len(self._busy) + self._starting < self.max_size:
                    break
                if self._idle:
                    evicted = self._idle.pop(0)
                    break
                self._lock.wait()
            self._starting += 1
        if evicted is not None:
            evicted.destroy()
        worker = None
        try:
            worker = self._start(spec)
            return worker
        finally:
            with self._lock:  # one step, so no other caller sees a free slot in between
                self._starting -= 1
                if worker is not None:
                    self._busy.add(worker)
                self._lock.notify_all()

    def release(self, worker: Worker, *, healthy: bool) -> None:
        """Give ``worker`` back; an unhealthy or worn-out one is destroyed instead."""
        worker.runs += 1
        keep = (
            healthy
            and worker.runs < self.max_runs
            and not self._closed
            and os.getpid() == self._pid
        )
        with self._lock:
            self._busy.discard(worker)
            if keep:
                self._idle.append(worker)
            self._lock.notify_all()
        if not keep:
            worker.destroy()

    def warm(self, spec: ContainerSpec, count: int = 1) -> None:
        """Start ``count`` containers for ``spec`` now, so the first runs find them warm."""
        workers = [self.acquire(spec) for _ in range(min(count, self.max_size))]
        for worker in workers:
            self.release(worker, healthy=True)

    def container_ids(self) -> list[str]:
        """Ids of the containers this pool holds (idle and busy)."""
        with self._lock:
            return [w.id for w in (*self._idle, *self._busy)]

    def close(self) -> None:
        """Destroy every container of this pool. Idempotent."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            self._lock.notify_all()
        for worker in workers:
            worker.destroy()

    # -- internals ----------------------------------------------------------------------
    def _after_fork(self) -> None:
        """In a forked child, forget the parent's containers (they are the parent's to close)."""
        if os.getpid() == self._pid:
            return
        import docker

        self._client = docker.from_env()
        self._lock = threading.Condition()
        self._idle, self._busy, self._starting = [], set(), 0
        self._pid = os.getpid()
        self._closed = False
        _LIVE_POOLS.add(self)

    def _start(self, spec: ContainerSpec) -> Worker:
        import docker

        try:
            container = self._client.containers.create(
                self.image,
                ["python3", "-I", "-S", "-c", supervisor_source()],
                labels={LABEL: "1", OWNER_LABEL: owner_id()},
                **spec.create_kwargs(),
            )
        except docker.errors.ImageNotFound as exc:
            from sandbox.errors import ImageMissingError

            raise ImageMissingError(
                f"sandbox image {self.image!r} is missing; build it with `rlvr sandbox build-image`"
            ) from exc
        except (docker.errors.DockerException, OSError) as exc:
            raise SandboxUnavailableError(f"cannot create a sandbox container: {exc}") from exc
        return self._attach_and_start(container, spec)

    def _attach_and_start(self, container: Any, spec: ContainerSpec) -> Worker:
        import docker

        channel = None
        try:
            attached = container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            channel = Channel(attached)
            container.start()
            worker = Worker(container, channel, spec)
            answer = worker.call({"op": "ping"}, timeout_s=self.start_timeout_s)
            if not answer.get("ok"):
                raise ChannelBroken(f"supervisor refused to start: {answer}")
            return worker
        except (docker.errors.DockerException, OSError, ChannelBroken, ValueError) as exc:
            if channel is not None:
                channel.close()
            _remove_quietly(container)
            raise SandboxUnavailableError(
                f"sandbox container in image {self.image!r} did not start: {exc}"
            ) from exc
