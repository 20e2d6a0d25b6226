"""The local sandbox backend: child processes with hard rlimits, for hosts without Docker.

Each :meth:`LocalSandbox.run` gets a fresh workspace directory and runs the command in a new
session with a scrubbed environment and rlimits (address space, processes, file size, CPU seconds,
open files, no core dumps). Output is read incrementally and capped; on timeout, output overflow or
exit every process of the run is killed.

When the grader runs as **root** (the usual case in CI containers) the child additionally gets:

* its own **unprivileged uid** (one per run, from a high range no real user has), so it cannot
  read the grader's files or ``/proc/<grader>/environ``, and ``RLIMIT_NPROC`` counts only its own
  processes; every process of that uid is killed when the run ends, even ones that left the session;
* a new **network namespace** (only a down loopback: nothing on the host's ``127.0.0.1`` is
  reachable), a new **IPC namespace** (System V shared memory, semaphores and message queues
  and POSIX message queues of a run vanish with it and are invisible to other runs) and a new
  **mount namespace** whose root (``chroot``) is a fresh tmpfs of
  ``Limits.tmpfs_mb`` holding ``/workspace`` (the working directory), ``/tmp`` and ``/dev/shm``,
  with the host's ``/usr``, ``/etc``, ``/bin``, ``/lib*``, a few ``/dev`` nodes and ``/proc``
  bind-mounted in (readable, not writable by the run's uid). Files written anywhere vanish with
  the run; the rest of the host filesystem (home directories, datasets, the grader's code) is not
  visible, and filling the tmpfs cannot fill the host disk;
* ``PR_SET_NO_NEW_PRIVS`` (setuid binaries cannot raise privileges).

Where the IPC namespace is refused but a per-run uid exists, every System V IPC object and POSIX
shared-memory/message-queue file that uid owns is removed after the run instead. Without root
neither is possible (the run's objects cannot be told from the grader user's own): IPC objects a
run creates may outlive it, and ``details["isolation"]`` says so.

**Weaker than Docker** (recorded in every ``RunResult.details["isolation"]``): the program shares
the host kernel, sees the host's ``/usr``, ``/etc`` and process list (no PID namespace), and
memory is a per-process address-space limit rather than a cgroup. Without root none of the
namespace/uid protections apply: the program runs as the grader's user, with the host network, and
only rlimits and a scrubbed environment bound it. Use the Docker backend for untrusted code at
scale.

>>> from sandbox.local import LocalSandbox
>>> from sandbox.base import Limits
>>> box = LocalSandbox()
>>> r = box.run(["python3", "-c", "print(6 * 7)"], limits=Limits(wall_s=10))
>>> r.stdout, r.stop.value
(b'42\\n', 'exited')
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Mapping, Sequence

from .base import Limits, RunResult, StopReason
from .errors import SandboxConfigError, SandboxUnavailableError

SCRUBBED_PATH = "/usr/local/bin:/usr/bin:/bin"
UID_BASE = 2_000_000_000
UID_COUNT = 100_000_000
"""Per-run uids are drawn from ``[UID_BASE, UID_BASE + UID_COUNT)`` by default; no real account
lives there."""
ROOT_WORKSPACE_BASE = "/var/lib/rlvr-sandbox"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWIPC = 0x08000000
_MS_PRIVATE = 1 << 18
_MS_REC = 16384
_MS_NOSUID = 2
_MS_NODEV = 4
_PR_SET_NO_NEW_PRIVS = 38
_CHUNK = 65536


@dataclass(frozen=True)
class _Plan:
    """How one run is isolated (computed once per sandbox)."""

    privileged: bool
    namespaces: bool
    ipc_namespace: bool = False
    """Each run gets its own IPC namespace (only with ``namespaces``)."""

    @property
    def unshare_flags(self) -> int:
        return _CLONE_NEWNS | _CLONE_NEWNET | (_CLONE_NEWIPC if self.ipc_namespace else 0)


class LocalSandbox:
    """Run commands as local child processes, bounded by rlimits (see the module docstring).

    Args:
        isolate: ``"auto"`` uses every protection the host allows (namespaces and a per-run uid
            when running as root); ``"rlimits"`` uses only rlimits, a session and a scrubbed env.
        workspace_base: parent directory for per-run workspaces (default: a root-only directory
            outside ``/tmp`` when root, the system temp directory otherwise).
        uid_range: ``(first, end)`` of the per-run uids (root only); every process of such a uid
            is killed at the end of its run, so the range must belong to no one else.
    """

    name = "local"

    def __init__(
        self,
        *,
        isolate: str = "auto",
        workspace_base: str | None = None,
        uid_range: tuple[int, int] = (UID_BASE, UID_BASE + UID_COUNT),
    ) -> None:
        if isolate not in ("auto", "rlimits"):
            raise SandboxConfigError(f"isolate must be 'auto' or 'rlimits', got {isolate!r}")
        if not 1_000_000 <= uid_range[0] < uid_range[1] <= 2**32 - 2:
            raise SandboxConfigError(
                f"uid_range {uid_range!r} must lie within [1000000, 4294967294) and be non-empty"
            )
        self.uid_range = (int(uid_range[0]), int(uid_range[1]))
        privileged = isolate == "auto" and os.geteuid() == 0
        flags = _working_unshare_flags() if privileged else 0
        self._plan = _Plan(
            privileged=privileged, namespaces=bool(flags), ipc_namespace=bool(flags & _CLONE_NEWIPC)
        )
        self._base = workspace_base or (
            ROOT_WORKSPACE_BASE if privileged else tempfile.gettempdir()
        )
        os.makedirs(self._base, mode=0o711, exist_ok=True)
        self._closed = False

    @property
    def namespaced(self) -> bool:
        """True when runs get network + mount namespaces and a private root (root and a permitting
        kernel)."""
        return self._plan.namespaces

    @property
    def separate_uid(self) -> bool:
        """True when each run gets its own unprivileged uid (the grader runs as root)."""
        return self._plan.privileged

    @property
    def isolation(self) -> str:
        """One line saying what this backend isolates (recorded in every result's details)."""
        if self._plan.namespaces:
            ipc = (
                "IPC namespace"
                if self._plan.ipc_namespace
                else "IPC objects of the run's uid removed after it"
            )
            return (
                "local (weaker than docker: shared kernel, host /usr and /etc visible read-only, "
                "host process "
                f"list visible; per-run uid, network + mount namespaces, {ipc}, chroot on a "
                "private tmpfs, rlimits)"
            )
        if self._plan.privileged:
            return (
                "local (weaker than docker: per-run uid and rlimits only, IPC objects of the run's "
                "uid removed after it; NETWORK NOT ISOLATED, /tmp shared with the host)"
            )
        return (
            "local (weakest: runs as the grader's user with rlimits and a scrubbed environment "
            "only; NETWORK NOT ISOLATED, host files readable and /tmp writable, SYSTEM V / POSIX "
            "IPC NOT ISOLATED: shared memory and message queues a run creates may outlive it)"
        )

    def run(
        self,
        command: Sequence[str],
        *,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> RunResult:
        """Run ``command`` in a fresh workspace holding ``files``; see
        :class:`sandbox.base.Sandbox`."""
        if self._closed:
            raise SandboxUnavailableError("this LocalSandbox is closed; create a new one")
        if not command:
            raise SandboxConfigError("command must name a program, e.g. ['python3', 'main.py']")
        limits = limits or Limits()
        first, end = self.uid_range
        uid = first + secrets.randbelow(end - first) if self._plan.privileged else None
        root = self._make_root(limits, uid)
        workspace = os.path.join(root, "workspace") if self._plan.namespaces else root
        try:
            _write_files(workspace, files or {}, uid)
            return self._execute(list(command), root, stdin, limits, uid)
        finally:
            self._remove_root(root)

    def close(self) -> None:
        """Nothing is held between runs; further runs raise."""
        self._closed = True

    def __enter__(self) -> "LocalSandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ workspace
    def _make_root(self, limits: Limits, uid: int | None) -> str:
        """A fresh run directory: with namespaces, a size-capped tmpfs laid out as the run's
        root."""
        try:
            path = tempfile.mkdtemp(prefix="run-", dir=self._base)
            if self._plan.namespaces:
                _mount_tmpfs(path, limits.tmpfs_mb, mode="0755")
                _lay_out_root(path, uid)
            elif uid is not None:
                os.chown(path, uid, uid)
            return path
        except OSError as exc:
            raise SandboxUnavailableError(
                f"local sandbox could not create a workspace in {self._base}: {exc}"
            ) from exc

    def _remove_root(self, path: str) -> None:
        if self._plan.namespaces:
            _umount(path)
        shutil.rmtree(path, ignore_errors=True)

    # ------------------------------------------------------------------ process
    def _execute(
        self, command: list[str], root: str, stdin: str | bytes, limits: Limits, uid: int | None
    ) -> RunResult:
        home = "/workspace" if self._plan.namespaces else root
        env = {
            "PATH": SCRUBBED_PATH,
            "HOME": home,
            "TMPDIR": "/tmp" if self._plan.namespaces else root,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        executable = (
            shutil.which(command[0], path=SCRUBBED_PATH) if "/" not in command[0] else command[0]
        )
        if executable is None:
            raise SandboxUnavailableError(
                f"local sandbox: {command[0]!r} is not installed on this host (searched "
                f"{SCRUBBED_PATH})"
            )
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                [executable, *command[1:]],
                cwd=root,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_child_setup(limits, uid, self._plan, root),
                close_fds=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailableError(
                f"local sandbox could not start {command[0]!r}: {exc}"
            ) from exc
        data = stdin.encode() if isinstance(stdin, str) else bytes(stdin)
        out, err, stop = _pump(proc, data, limits, start + limits.wall_s)
        _kill_all(proc, uid)
        code = proc.wait()
        if uid is not None and not self._plan.ipc_namespace:
            remove_ipc_objects(uid)
        stop = _classify(stop, code, err.data)
        return RunResult(
            exit_code=None if stop is StopReason.TIMEOUT else code,
            stdout=bytes(out.data),
            stderr=bytes(err.data),
            duration_s=time.monotonic() - start,
            stop=stop,
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            backend=self.name,
            details={"isolation": self.isolation, "network_isolated": self._plan.namespaces},
        )


class _Capture:
    def __init__(self, cap: int) -> None:
        self.data = bytearray()
        self.cap = cap
        self.truncated = False

    def add(self, chunk: bytes) -> bool:
        """Keep up to ``cap`` bytes; True once the cap is exceeded."""
        room = self.cap - len(self.data)
        self.data += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.truncated = True
        return self.truncated


def _pump(
    proc: subprocess.Popen, data: bytes, limits: Limits, deadline: float
) -> tuple[_Capture, _Capture, StopReason | None]:
    """Feed stdin and read stdout/stderr until EOF, the deadline or the output cap."""
    out, err = _Capture(limits.output_bytes), _Capture(limits.output_bytes)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    pending = memoryview(data)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE, None)
    else:
        proc.stdin.close()
    exited_at: float | None = None
    try:
        while any(key.data is not None for key in sel.get_map().values()):
            now = time.monotonic()
            if now >= deadline:
                return out, err, StopReason.TIMEOUT
            if exited_at is None and proc.poll() is not None:
                exited_at = (
                    now  # main process gone: leftovers may hold the pipes, give them a moment
                )
            if exited_at is not None and now - exited_at > 0.5:
                break
            for key, _ in sel.select(
                timeout=min(0.05 if exited_at else 0.5, max(deadline - now, 0.0))
            ):
                if key.data is None:
                    pending = _feed(sel, key.fileobj, pending)
                    continue
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.data.add(chunk):
                    return out, err, StopReason.OUTPUT_LIMIT
    finally:
        sel.close()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
    return out, err, None


def _feed(sel: selectors.BaseSelector, pipe, pending: memoryview) -> memoryview:
    try:
        written = os.write(pipe.fileno(), pending[:_CHUNK])
    except (BrokenPipeError, OSError):
        written = len(pending)
    pending = pending[written:]
    if not pending:
        sel.unregister(pipe)
        pipe.close()
    return pending


def _classify(stop: StopReason | None, code: int, stderr: bytes) -> StopReason:
    if stop is not None:
        return stop
    if code == -signal.SIGXCPU:
        return StopReason.TIMEOUT
    if code != 0 and stderr.rstrip().endswith(b"MemoryError"):
        return StopReason.OUT_OF_MEMORY
    if code < 0:
        return StopReason.KILLED
    return StopReason.EXITED


def _kill_all(proc: subprocess.Popen, uid: int | None) -> None:
    """Kill the run's process group, and with a per-run uid every process that uid owns."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if uid is None:
        return
    for _ in range(50):
        victims = _pids_of_uid(uid)
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def processes_in_uid_range(first: int, end: int) -> list[int]:
    """Live (non-zombie) processes whose uid lies in ``[first, end)``: leftovers of runs, if any."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if first <= uid < end and int(entry) in _pids_of_uid(uid):
                found.append(int(entry))
    return found


def _pids_of_uid(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}")
            if st.st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


# ---------------------------------------------------------------------- child setup
def _child_setup(limits: Limits, uid: int | None, plan: _Plan, root: str):
    """The function run in the child between fork and exec (as root when ``plan.privileged``)."""
    cpu = limits.cpu_s if limits.cpu_s is not None else limits.wall_s + 1
    rlimits = [
        (resource.RLIMIT_AS, limits.memory_mb * 1024 * 1024),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * 1024 * 1024),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_CPU, max(1, math.ceil(cpu))),
    ]
    libc = _libc()
    binds = [
        (src.encode(), os.path.join(root, src.lstrip("/")).encode(), flags)
        for src, flags in _bind_mounts()
    ]

    def setup() -> None:
        if plan.namespaces:
            _check(libc.unshare(plan.unshare_flags), "unshare")
            _check(
                libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None),
                "mount --make-rprivate /",
            )
            for source, target, flags in binds:
                _check(libc.mount(source, target, None, flags, None), f"bind {source!r}")
            os.chroot(root)
            os.chdir("/workspace")
        if plan.privileged:
            libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        for which, value in rlimits:
            resource.setrlimit(which, (value, value))
        if uid is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        # without a per-run uid RLIMIT_NPROC would count the grader's own processes: not set

    return setup


ROOT_DIRS = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Host directories visible (read-only to the run's uid) inside the local sandbox's root."""
DEVICES = ("null", "zero", "full", "random", "urandom")
_MS_BIND = 4096


def _bind_mounts() -> list[tuple[str, int]]:
    mounts = [
        (f"/{d}", _MS_BIND | _MS_REC)
        for d in ROOT_DIRS
        if os.path.isdir(f"/{d}") and not os.path.islink(f"/{d}")
    ]
    mounts += [(f"/dev/{d}", _MS_BIND) for d in DEVICES if os.path.exists(f"/dev/{d}")]
    mounts.append(("/proc", _MS_BIND | _MS_REC))
    return mounts


def _lay_out_root(root: str, uid: int | None) -> None:
    """Mount points, symlinks and scratch directories of a run's root (on its tmpfs)."""
    for name in ROOT_DIRS:
        host = f"/{name}"
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(root, name))
        elif os.path.isdir(host):
            os.mkdir(os.path.join(root, name))
    for name in ("dev", "proc"):
        os.mkdir(os.path.join(root, name))
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            open(os.path.join(root, "dev", name), "wb").close()
    for name in ("tmp", "dev/shm"):
        os.mkdir(os.path.join(root, name))
        os.chmod(os.path.join(root, name), 0o1777)
    workspace = os.path.join(root, "workspace")
    os.mkdir(workspace, 0o700)
    if uid is not None:
        os.chown(workspace, uid, uid)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        raise OSError(ctypes.get_errno(), f"local sandbox: {what} failed")


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _LIBC


def _mount_tmpfs(path: str, size_mb: int, *, mode: str) -> None:
    opts = f"size={max(1, size_mb)}m,mode={mode}".encode()
    if _libc().mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, opts) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount tmpfs on {path}: {os.strerror(err)}")


def _umount(path: str) -> None:
    _libc().umount2(path.encode(), 2)  # MNT_DETACH


_UNSHARE_FLAGS: int | None = None


def _working_unshare_flags() -> int:
    """The namespaces this host lets us create for a run (0: none): mount + network, and IPC if
    allowed."""
    global _UNSHARE_FLAGS
    if _UNSHARE_FLAGS is None:
        _UNSHARE_FLAGS = 0
        for flags in (_CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWIPC, _CLONE_NEWNS | _CLONE_NEWNET):
            if _probe_works(flags):
                _UNSHARE_FLAGS = flags
                break
    return _UNSHARE_FLAGS


def _probe_works(flags: int) -> bool:
    try:
        return (
            subprocess.run(
                ["/bin/true"], preexec_fn=lambda: _probe_namespaces(flags), timeout=10
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def _probe_namespaces(flags: int) -> None:
    libc = _libc()
    _check(libc.unshare(flags), "unshare")
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "make-rprivate")
    _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"size=1m"), "mount tmpfs")


# ---------------------------------------------------------------------- IPC left behind
_IPC_RMID = 0
_SYSV_TABLES = ("shm", "msg", "sem")
POSIX_IPC_DIRS = ("/dev/shm", "/dev/mqueue")


def remove_ipc_objects(uid: int) -> int:
    """Remove every System V IPC object and POSIX shm/mqueue file owned or created by ``uid``.

    Used after a run that had its own uid but no IPC namespace (root only); returns the number
    of objects removed.
    """
    removed = 0
    libc = _libc()
    for table in _SYSV_TABLES:
        for ident in sysv_ipc_ids(table, uid):
            if table == "shm":
                ok = libc.shmctl(ident, _IPC_RMID, None) == 0
            elif table == "msg":
                ok = libc.msgctl(ident, _IPC_RMID, None) == 0
            else:
                ok = libc.semctl(ident, 0, _IPC_RMID) == 0
            removed += ok
    for directory in POSIX_IPC_DIRS:
        removed += _remove_files_of(directory, uid)
    return removed


def sysv_ipc_ids(table: str, uid: int) -> list[int]:
    """Ids of the System V IPC objects in ``/proc/sysvipc/<table>`` (shm|msg|sem) owned or created
    by ``uid``."""
    try:
        with open(f"/proc/sysvipc/{table}", encoding="ascii") as fh:
            header, *rows = [line.split() for line in fh]
    except (OSError, ValueError):
        return []
    columns = {name: i for i, name in enumerate(header)}
    ident = columns.get("shmid", columns.get("msqid", columns.get("semid")))
    found = []
    for row in rows:
        try:
            if uid in (int(row[columns["uid"]]), int(row[columns["cuid"]])):
                found.append(int(row[ident]))
        except (KeyError, IndexError, ValueError, TypeError):
            continue
    return found


def _remove_files_of(directory: str, uid: int) -> int:
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_uid == uid:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _write_files(workspace: str, files: Mapping[str, str | bytes], uid: int | None) -> None:
    for name, content in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise SandboxConfigError(
                f"file name {name!r} must be a relative path inside the workspace"
            )
        target = os.path.join(workspace, *rel.parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(content.encode() if isinstance(content, str) else content)
        if uid is not None:
            for path in _created_dirs(workspace, rel) + [target]:
                os.chown(path, uid, uid)


def _created_dirs(workspace: str, rel: PurePosixPath) -> list[str]:
    """The directories between ``workspace`` and the file ``rel`` (to hand over to the run's
    uid)."""
    return [os.path.join(workspace, *rel.parts[:i]) for i in range(1, len(rel.parts))]
