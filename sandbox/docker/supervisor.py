"""The trusted supervisor that runs as PID 1 inside every warm sandbox container.

It is started as ``python3 -I -S -c <this file's source>``, with the text of
:mod:`sandbox.docker.zygote` spliced into ``ZYGOTE_SOURCE`` (the root filesystem is read-only, so
nothing is installed in the image), and talks to the host over the container's attached
stdin/stdout. Each request is one framed JSON message; each answer is one framed JSON message::

    frame = b"RLVR" + 8-byte big-endian length + UTF-8 JSON

Per run it: writes the files into the empty workspace, starts the command in a new session with
rlimits and a scrubbed environment, streams stdin in and stdout/stderr out (capped), kills every
process of the run on timeout, output overflow or exit (``kill(-1, SIGKILL)``: as PID 1 of the
container's PID namespace nothing else lives there), reaps them, wipes the workspace, ``/tmp``,
POSIX/SysV IPC, and checks that the container is back to its pristine state. A dirty container
is reported (``clean: false``) and the host replaces it.

Being PID 1 protects the supervisor: signals from inside the namespace (``kill -9 1``) are not
delivered to an init without a handler, and ``PR_SET_DUMPABLE=0`` forbids ptrace and
``/proc/1/mem`` to the same-uid program. Every run gets ``oom_score_adj=1000``, so when the
container's memory cgroup overflows the OOM killer takes the run, never the supervisor, and the
run is reported ``out_of_memory``. Must run on Python >= 3.9 with only the standard library.

Zygote fast path. A run that is plainly ``python3 [-u|-B] FILE.py [ARGS...]`` (no user site in the
workspace, nothing that looks like a zip application) skips the interpreter's ~10 ms start-up: a
*zygote*, a fresh ``python3 -c ZYGOTE_SOURCE`` exec'd by us (never a fork of the supervisor, whose
memory holds earlier requests) with the run's environment, non-dumpable, idle on a private socket,
forks the run. The child does what the exec path does (new session, rlimits, scrubbed env,
``cwd=/workspace``, fds 0/1/2 = the run's pipes, ``oom_score_adj=1000``, dumpable again), resets
``sys.argv``/``sys.orig_argv``/``sys.path[0]``/``os.environ``/``sys.std*`` and drops the modules a
fresh interpreter would not have, then executes FILE as ``__main__`` (SystemExit, uncaught
exceptions and interpreter shutdown as in ``python3``). The zygote reports the run's pid and later
its wait status; the supervisor times, caps and kills it like any run. The cleanup kills every
process but PID 1 and a healthy zygote (same pid and start time, idle, not stopped), and replaces
a zygote the run killed, stopped or upset. Anything else takes the exec path, as does every run when
no zygote can start. What a program can still tell (documented, none of it from another run):
``/proc/self/cmdline`` is the zygote's, ``os.getppid()`` is the zygote (one more process in the
container; the pids limit has one more slot for it), the main module's frame has callers
(``sys._getframe().f_back``; tracebacks are trimmed), the zygote's objects are ``gc.freeze()``-n,
extension modules the zygote loaded (``_ctypes``, ``_socket``, ``resource``) stay mapped, and an
uncaught ``KeyboardInterrupt`` exits 1 instead of by SIGINT. ``sys.flags`` match a fresh
``python3`` with the run environment (``-u``/``-B`` are already implied by it).
"""

import base64
import json
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import time

MAGIC = b"RLVR"
WORKSPACE = "/workspace"
SCRATCH_DIRS = ("/workspace", "/tmp", "/dev/shm", "/dev/mqueue")
RUN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORKSPACE,
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}
CHUNK = 65536


# ---------------------------------------------------------------- framing over stdin/stdout
def read_exact(fd, n):
    parts = []
    while n:
        data = os.read(fd, min(n, 1 << 20))
        if not data:
            raise EOFError("host closed the connection")
        parts.append(data)
        n -= len(data)
    return b"".join(parts)


def read_message(fd):
    header = read_exact(fd, 12)
    if header[:4] != MAGIC:
        raise ValueError("bad frame magic %r" % header[:4])
    (length,) = struct.unpack(">Q", header[4:])
    return json.loads(read_exact(fd, length).decode("utf-8"))


def write_message(fd, message):
    body = json.dumps(message).encode("utf-8")
    data = MAGIC + struct.pack(">Q", len(body)) + body
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---------------------------------------------------------------- hardening of PID 1
def harden_self():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # SIG_DFL on PID 1: the run cannot signal us
    try:
        _libc().prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no ptrace, no /proc/1/mem for the run
    except Exception:
        pass


# ---------------------------------------------------------------- one run
def write_files(files):
    for rel, b64 in files.items():
        path = os.path.join(WORKSPACE, rel)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(b64))


def spawn(req, stdin, stdout, stderr):
    """Start the run, then make it the OOM killer's first pick and tighten its rlimits.

    No ``preexec_fn`` (it forbids vfork and costs ~8 ms a run); in the microseconds before the
    adjustments land, the container's own ulimits and cgroup limits bound the run. The child's
    ``/proc`` files are its own (it is dumpable after exec), so raising its OOM score is allowed.
    """
    proc = subprocess.Popen(
        req["argv"],
        cwd=WORKSPACE,
        env=dict(RUN_ENV, **req.get("env", {})),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        close_fds=True,
    )
    try:
        with open("/proc/%d/oom_score_adj" % proc.pid, "w") as handle:
            handle.write("1000")
    except OSError:
        pass  # already exited
    cpu = max(1, int(req["cpu_s"] + 0.999))
    limits = (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (req["file_size_bytes"],) * 2),
        (resource.RLIMIT_NOFILE, (req["open_files"],) * 2),
    )
    for which, value in limits:
        try:
            resource.prlimit(proc.pid, which, value)
        except (ProcessLookupError, PermissionError):
            pass  # already exited
        except ValueError:
            pass  # above the container's hard limit: that one applies
    return proc


def oom_kills():
    """How many OOM kills the container's memory cgroup has seen (v2, then v1)."""
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            with open(path) as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return -1


def kill_everything(zygote=None):
    """SIGKILL every process of the namespace except PID 1 (and a healthy ``zygote``), reap them
    all."""
    if zygote is None:
        return kill_all()
    deadline = time.monotonic() + 5.0
    while True:
        reap_finished()
        # a stopped one would keep zombies: kill it
        spare = zygote.pid if zygote.healthy() else None
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, spare)]
        if not others:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.0002)


def reap_finished():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_all():
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5.0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Pump:
    """Moves stdin into the run and stdout/stderr out of it, capped at ``limit`` bytes each."""

    def __init__(self, proc_stdin, proc_stdout, proc_stderr, stdin_data, limit):
        self.limit = limit
        self.stdin_fd = proc_stdin
        self.stdin_data = memoryview(stdin_data)
        self.out = {proc_stdout: bytearray(), proc_stderr: bytearray()}
        self.names = {proc_stdout: "stdout", proc_stderr: "stderr"}
        self.truncated = {"stdout": False, "stderr": False}
        self.open = {proc_stdout, proc_stderr}
        for fd in (proc_stdin, proc_stdout, proc_stderr):
            os.set_blocking(fd, False)
        if not self.stdin_data:
            self.close_stdin()

    def close_stdin(self):
        if self.stdin_fd is not None:
            os.close(self.stdin_fd)
            self.stdin_fd = None

    def fds(self):
        return list(self.open), ([self.stdin_fd] if self.stdin_fd is not None else [])

    def on_readable(self, fd):
        """Read what is there; return True when a stream went over the limit."""
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return False
        if not data:
            self.open.discard(fd)
            return False
        buf = self.out[fd]
        room = self.limit - len(buf)
        buf += data[: max(room, 0)]
        if len(data) > room:
            self.truncated[self.names[fd]] = True
            return True
        return False

    def on_writable(self):
        try:
            written = os.write(self.stdin_fd, self.stdin_data[:CHUNK])
        except BlockingIOError:
            return
        except BrokenPipeError:
            self.close_stdin()
            return
        self.stdin_data = self.stdin_data[written:]
        if not self.stdin_data:
            self.close_stdin()

    def drain(self):
        """After every writer is dead: read what is left in the pipes."""
        for fd in list(self.open):
            os.set_blocking(fd, True)
            while fd in self.open:
                self.on_readable(fd)

    def result(self, name):
        for fd, label in self.names.items():
            if label == name:
                return bytes(self.out[fd])
        return b""


def wait_pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def run_request(req):
    write_files(req["files"])
    oom_before = oom_kills()
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    start = time.monotonic()
    fast = python_fast_path(req) if ZYGOTE else None
    pid = ZYGOTE[0].fork(req, fast, (r_in, w_out, w_err)) if fast else None
    try:
        proc = ForkedRun(pid, ZYGOTE[0]) if pid else spawn(req, r_in, w_out, w_err)
    except OSError as exc:
        for fd in (r_in, w_in, r_out, w_out, r_err, w_err):
            os.close(fd)
        return exec_failure(req["argv"][0], exc)
    for fd in (r_in, w_out, w_err):
        os.close(fd)
    pump = Pump(w_in, r_out, r_err, base64.b64decode(req["stdin"]), req["output_bytes"])
    stop, status = supervise(proc, pump, start + req["wall_s"])
    duration = time.monotonic() - start
    reaped = kill_everything(ZYGOTE[0] if ZYGOTE else None)
    if isinstance(proc, ForkedRun):
        proc.settle()
    if reaped:
        pump.drain()
    for fd in list(pump.out):
        os.close(fd)
    pump.close_stdin()
    if status is None:
        status = proc.returncode
    if stop == "exited" and (pump.truncated["stdout"] or pump.truncated["stderr"]):
        stop = "output_limit"
    answer = describe(stop, status, oom_kills() > oom_before >= 0)
    answer.update(
        stdout=base64.b64encode(pump.result("stdout")).decode("ascii"),
        stderr=base64.b64encode(pump.result("stderr")).decode("ascii"),
        stdout_truncated=pump.truncated["stdout"],
        stderr_truncated=pump.truncated["stderr"],
        duration_s=duration,
    )
    problems = [] if reaped else ["processes survived SIGKILL"]
    problems += scrub()
    renew_zygote()
    answer["clean"] = not problems
    answer["dirty_reason"] = "; ".join(problems)
    return answer


def exec_failure(program, exc):
    """A program of the run's own (``./prog``) that cannot start is the run's failure, exit 126/127
    as in a shell; a missing interpreter (``python3``, ``gcc``) is the image's, an error."""
    message = "%s: %s" % (type(exc).__name__, exc)
    if "/" not in program or program.startswith("/"):
        return {"error": "exec_failed", "message": message}
    problems = scrub()
    return {
        "stop": "exited",
        "exit_code": 127 if isinstance(exc, FileNotFoundError) else 126,
        "signal": None,
        "stdout": "",
        "stderr": base64.b64encode(
            ("sandbox: cannot execute %s: %s\n" % (program, message)).encode()
        ).decode("ascii"),
        "stdout_truncated": False,
        "stderr_truncated": False,
        "duration_s": 0.0,
        "clean": not problems,
        "dirty_reason": "; ".join(problems),
    }


def supervise(proc, pump, deadline):
    """Pump I/O until the main process exits, time runs out, or output overflows."""
    own = getattr(proc, "wait_fd", None)
    pidfd = own if own is not None else wait_pidfd(proc.pid)
    try:
        while True:
            if proc.poll() is not None:
                return "exited", proc.returncode
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", None
            readers, writers = pump.fds()
            if own is not None:  # a forked run's fd changes when the zygote dies (see ForkedRun)
                pidfd = own = proc.wait_fd
            waiting = readers + ([pidfd] if pidfd is not None else []) + [0]
            timeout = remaining if pidfd is not None else min(remaining, 0.002)
            readable, writable, _ = select.select(waiting, writers, [], timeout)
            if 0 in readable and host_gone():
                kill_everything()
                sys.exit(0)
            for fd in readable:
                if fd in pump.out and pump.on_readable(fd):
                    return "output_limit", None
            if writable:
                pump.on_writable()
    finally:
        if pidfd is not None and own is None:
            os.close(pidfd)


def host_gone():
    """Stdin is readable in the middle of a run only when the host hung up (EOF)."""
    try:
        os.set_blocking(0, False)
        data = os.read(0, 1)
    except BlockingIOError:
        return False
    finally:
        os.set_blocking(0, True)
    return data == b""


def describe(stop, status, oom):
    if stop != "exited":
        return {"stop": stop, "exit_code": None, "signal": None}
    if status is not None and status < 0:
        sig = -status
        if oom and sig == signal.SIGKILL:
            kind = "out_of_memory"
        elif sig in (signal.SIGXCPU,):
            kind = "timeout"
        else:
            kind = "killed"
        return {"stop": kind, "exit_code": None, "signal": sig}
    return {"stop": "out_of_memory" if oom else "exited", "exit_code": status, "signal": None}


# ------------------------------------------------------------- zygote (fork server) for Python runs
ZYGOTE_SOURCE = ""
"""The zygote program, :mod:`sandbox.docker.zygote`: the host splices its text in here (see
``sandbox.docker.pool.supervisor_source``), so this line must stay as it is."""

FAST_FLAGS = ("-u", "-B")
"""Flags a fresh ``python3`` of the run already has through ``RUN_ENV``: the zygote path accepts
them."""
STARTUP_ENV = ("PYTHON", "LC_", "LANG", "HOME", "PATH")
"""Env names that change how an interpreter starts: a run setting one takes the exec path."""


def python_fast_path(req):
    """``(orig_argv, script index, path)`` when the run is plainly
    ``python3 [-u|-B] FILE.py ...``."""
    argv = req["argv"]
    index = 1
    while index < len(argv) and argv[index] in FAST_FLAGS:
        index += 1
    if not argv or argv[0] != "python3" or index >= len(argv):
        return None
    script = argv[index]
    env = req.get("env", {})
    if (
        script.startswith("-")
        or not script.endswith(".py")
        or any(k.startswith(STARTUP_ENV) for k in env)
    ):
        return None
    if any("\0" in item for item in list(argv) + list(env) + list(env.values())):
        return None
    path = os.path.join(WORKSPACE, script)
    if not os.path.isfile(path) or os.path.lexists(os.path.join(WORKSPACE, ".local")):
        return None  # a user site-packages would be read by a fresh interpreter's start-up
    with open(path, "rb") as handle:
        if b"PK\x05\x06" in handle.read():
            return None  # maybe a zip application
    return argv, index, path


class Zygote:
    """A pristine ``python3`` (exec'd, never forked from us) that forks Python runs on request."""

    def __init__(self):
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        try:
            self.proc = subprocess.Popen(
                ["python3", "-c", ZYGOTE_SOURCE, str(theirs.fileno())],
                cwd="/",
                env=dict(RUN_ENV),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        self.pid = self.proc.pid
        self.broken = False
        try:
            self.started = self.stat()[2]
            if self.reply(10.0) != b"R":
                raise OSError("the zygote did not start")
        except BaseException:
            self.stop()
            raise

    def stat(self):
        with open("/proc/%d/stat" % self.pid) as handle:
            fields = handle.read().rpartition(")")[2].split()
        return fields[0], int(fields[1]), fields[19]  # state, ppid, start time

    def reply(self, timeout):
        readable, _, _ = select.select([self.sock], [], [], timeout)
        return self.sock.recv(64) if readable else b""

    def healthy(self):
        """Same process as started, alive, ours, idle (not stopped, traced or a zombie)."""
        try:
            state, ppid, started = self.stat()
        except (OSError, ValueError, IndexError):
            return False
        if self.broken:
            return False
        return state in ("S", "R") and ppid == 1 and started == self.started

    def fork(self, req, fast, fds):
        """The run's pid (a child of the zygote, which reports its exit), or None (take the exec
        path)."""
        import socket

        argv, index, _ = fast
        cpu = max(1, int(req["cpu_s"] + 0.999))
        env = dict(RUN_ENV, **req.get("env", {}))
        fields = [
            str(cpu),
            str(req["file_size_bytes"]),
            str(req["open_files"]),
            str(index),
            str(len(argv)),
        ]
        fields += list(argv) + ["%s=%s" % item for item in env.items()]
        try:
            socket.send_fds(self.sock, ["\0".join(fields).encode("utf-8", "surrogateescape")], fds)
            answer = self.reply(5.0)
        except OSError:
            return None
        if not answer.isdigit():
            self.broken = answer != b"E"
            return None
        return int(answer)

    def stop(self):
        try:
            self.proc.kill()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.sock.close()


class ForkedRun:
    """The ``Popen`` surface ``supervise`` needs, for a run the zygote forked (and reaps for us).

    Should the run kill the zygote, the run is re-parented to PID 1 and we reap it ourselves."""

    def __init__(self, pid, zygote):
        self.pid = pid
        self.returncode = None
        self.zygote = zygote
        self.orphan = False
        self.wait_fd = zygote.sock.fileno()  # readable once the zygote reports the exit (or died)

    def poll(self):
        if self.returncode is None and self.orphan:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not re-parented to us yet
                return None
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        elif self.returncode is None and select.select([self.zygote.sock], [], [], 0)[0]:
            self.collect()
        return self.returncode

    def collect(self):
        """The zygote's ``S<wait status>``; anything else means it died (the run killed it)."""
        try:
            answer = self.zygote.sock.recv(64)
        except OSError:
            answer = b""
        if answer[:1] == b"S" and answer[1:].isdigit():
            self.returncode = os.waitstatus_to_exitcode(int(answer[1:]))
            return
        self.zygote.broken = True
        self.orphan = True
        try:
            self.wait_fd = os.pidfd_open(self.pid)
        except OSError:  # gone before the zygote could report it
            self.returncode = -signal.SIGKILL

    def settle(self):
        """After the kill: take the exit report so the zygote is ready for the next run."""
        if not self.orphan and self.returncode is None:
            if select.select([self.zygote.sock], [], [], 2.0)[0]:
                self.collect()
            else:
                self.zygote.broken = True
        self.close()

    def close(self):
        if self.orphan and self.wait_fd != self.zygote.sock.fileno():
            os.close(self.wait_fd)
            self.wait_fd = self.zygote.sock.fileno()


ZYGOTE = []
"""The live zygote, if any (none where it cannot start: every run then takes the exec path)."""


def zygote_pid():
    return ZYGOTE[0].pid if ZYGOTE else None


def renew_zygote():
    """After a run (no run process alive): keep the zygote if pristine, else replace it."""
    if ZYGOTE and ZYGOTE[0].healthy():
        return
    if ZYGOTE:
        ZYGOTE.pop().stop()
    try:
        ZYGOTE.append(Zygote())
    except Exception:
        pass


# ---------------------------------------------------------------- back to pristine
def _make_removable(function, path, _exc):
    try:
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
    except OSError:
        pass
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, onerror=_give_up)
        else:
            os.unlink(path)
    except OSError:
        pass


def _give_up(*_):
    pass


def wipe(directory):
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return []
    except PermissionError:
        os.chmod(directory, 0o1777)
        entries = os.listdir(directory)
    for name in entries:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            shutil.rmtree(path, onerror=_make_removable)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    return os.listdir(directory)


_LIBC = []


def _libc():
    if not _LIBC:
        import ctypes

        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def remove_sysv_ipc():
    """Remove SysV shared memory, semaphores and message queues the run created."""
    libc = _libc()
    left = []
    for kind, remove in (("shm", libc.shmctl), ("sem", libc.semctl), ("msg", libc.msgctl)):
        try:
            with open("/proc/sysvipc/" + kind) as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            ident = int(line.split()[1])
            if kind == "sem":
                remove(ident, 0, 0)  # IPC_RMID
            else:
                remove(ident, 0, None)
        with open("/proc/sysvipc/" + kind) as handle:
            if len(handle.read().splitlines()) > 1:
                left.append(kind)
    return left


def scrub():
    problems = []
    for directory in SCRATCH_DIRS:
        try:
            left = wipe(directory)
        except OSError as exc:
            left = [str(exc)]
        if left:
            problems.append("%s not empty: %s" % (directory, left[:3]))
    try:
        left_ipc = remove_sysv_ipc()
    except Exception as exc:  # ctypes missing: cannot prove it is clean
        left_ipc = [str(exc)]
    if left_ipc:
        problems.append("SysV IPC left: %s" % left_ipc)
    others = [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", str(zygote_pid()))]
    if others:
        problems.append("processes left: %s" % others[:5])
    return problems


# ---------------------------------------------------------------- main loop
def main():
    harden_self()
    os.chdir("/")
    os.umask(0o022)
    renew_zygote()
    while True:
        try:
            req = read_message(0)
        except EOFError:
            return 0
        op = req.get("op")
        if op == "ping":
            answer = {"ok": True, "python": sys.version.split()[0], "clean": not scrub()}
        elif op == "run":
            try:
                answer = run_request(req)
            except Exception as exc:  # a supervisor bug: report it, the host replaces us
                kill_everything()
                renew_zygote()
                answer = {
                    "error": "supervisor_failed",
                    "message": "%s: %s" % (type(exc).__name__, exc),
                    "clean": False,
                }
        else:
            answer = {"error": "bad_request", "message": "unknown op %r" % (op,)}
        write_message(1, answer)


if __name__ == "__main__":
    sys.exit(main())
