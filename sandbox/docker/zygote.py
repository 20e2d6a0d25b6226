"""The zygote: a pristine ``python3`` that forks the Python runs of the supervisor's fast path.

Not imported in the container: the supervisor (:mod:`sandbox.docker.supervisor`) starts it as
``python3 -c <this file's text> FD``, where the host spliced the text into the supervisor's
``ZYGOTE_SOURCE`` (``sandbox.docker.pool.supervisor_source``). Standard library only, Python >= 3.9.

Over the SOCK_SEQPACKET socket ``FD`` it sends ``R`` when ready; each request is the run's fields
(``cpu fsize nofile script count argv... env...``, NUL-separated) with the run's stdin, stdout and
stderr attached (SCM_RIGHTS). It answers the run's pid (or ``E``), then ``S<wait status>`` when the
run ends; the forked child prepares itself as the exec path would and runs the script as
``__main__``. Importing this module (the doctests do) only defines it: the program runs when it
is ``__main__``.
"""

import sys

BASELINE = frozenset(sys.modules)  # what a fresh python3 has imported by now
import os
import _socket
import ctypes
import resource

LIBC = ctypes.CDLL(None, use_errno=True)
if __name__ == "__main__":
    LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: runs cannot ptrace us or read /proc/<pid>/mem


def serve(fd):
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, fd)
    sock.send(b"R")
    while True:
        data, ancillary, _, _ = sock.recvmsg(1 << 20, _socket.CMSG_SPACE(12))
        if not data:
            return None
        fds = []
        for level, kind, raw in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += [
                    int.from_bytes(raw[i : i + 4], sys.byteorder) for i in range(0, len(raw) - 3, 4)
                ]
        job = fork_run(sock, data, fds)
        if job is not None:
            return job


def fork_run(sock, data, fds):
    """Fork the run, tell the supervisor its pid, reap it and send its wait status."""
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        sock.send(b"E")
        return None
    try:
        child = os.fork()
    except OSError:
        child = -1
    if child == 0:
        sock.close()
        return data, fds
    for fd in fds:
        os.close(fd)
    if child < 0:
        sock.send(b"E")
        return None
    sock.send(str(child).encode())
    _, status = os.waitpid(child, 0)
    sock.send(b"S%d" % status)
    return None


def new_stdio(fd, old, write, name):
    buffered = not (write and old.write_through)  # -u / PYTHONUNBUFFERED: no buffer layer
    buf = open(fd, "wb" if write else "rb", -1 if buffered else 0, closefd=False)
    (buf.raw if buffered else buf).name = name
    text = type(old)(
        buf,
        encoding=old.encoding,
        errors=old.errors,
        newline="\n",
        line_buffering=old.line_buffering,
        write_through=old.write_through,
    )
    text.mode = "w" if write else "r"
    return text


def prepare(data, fds):
    """What the exec path does for a run, then reset what the program sees of the interpreter."""
    fields = data.decode("utf-8", "surrogateescape").split("\0")
    cpu, fsize, nofile, script, count = (int(x) for x in fields[:5])
    orig_argv = fields[5 : 5 + count]
    argv = orig_argv[script:]
    env = dict(item.split("=", 1) for item in fields[5 + count :] if item)
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, 1 << 20)
    LIBC.prctl(4, 1, 0, 0, 0)  # dumpable again, like an exec'd program (and /proc/self is ours)
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    for which, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (nofile, nofile)),
    ):
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            pass  # above the container's hard limit: that one applies
    os.chdir("/workspace")
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = sys.__stdin__ = new_stdio(0, sys.__stdin__, False, "<stdin>")
    sys.stdout = sys.__stdout__ = new_stdio(1, sys.__stdout__, True, "<stdout>")
    sys.stderr = sys.__stderr__ = new_stdio(2, sys.__stderr__, True, "<stderr>")
    path = os.path.abspath(argv[0])
    sys.argv = argv
    sys.orig_argv = orig_argv
    sys.path[0] = os.path.dirname(os.path.realpath(argv[0]))
    sys.path_importer_cache.clear()
    for name in set(sys.modules) - BASELINE:
        del sys.modules[name]
    return path


def run_main(path):
    main = type(sys)("__main__")
    main.__file__ = path
    main.__cached__ = None
    main.__annotations__ = {}
    main.__builtins__ = sys.modules["builtins"]
    main.__loader__ = sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", path)
    sys.modules["__main__"] = main
    failure = None
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        failure = exc
    if failure is not None:
        tb = failure.__traceback__.tb_next  # skip this frame; None for a SyntaxError
        sys.excepthook(type(failure), failure.with_traceback(tb), tb)
        del failure, tb
        raise SystemExit(1)


if __name__ == "__main__":
    import gc

    gc.freeze()  # forked runs neither traverse nor copy-on-write the zygote's own objects
    JOB = serve(int(sys.argv[1]))
    if JOB is None:
        sys.exit(0)
    run_main(prepare(*JOB))
