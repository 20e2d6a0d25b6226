"""The test process's side of the candidate: spawn, talk to, time and restart it (``code@2``).

Sent into the sandbox as part of the harness (after :mod:`.wire`). Every request is one JSON
line; every reply one JSON line, within the per-call bound. A candidate that overruns the bound,
floods its output or dies is killed with its whole process group and replaced by a fresh
``python3 -I -S candidate_runner.py`` (exec'd, so it inherits no memory of this process, only its
two pipes); the call raises :class:`CallAbort`, which test code cannot swallow unnoticed (it is a
``BaseException`` and the recorder is told before it is raised).
"""

import builtins
import os
import resource
import select
import signal
import sys
import time

try:
    from .wire import _NAMEDTUPLES, Decoder, Encoder, WireError, dumps, loads
except ImportError:  # in the sandbox this file follows wire.py
    pass

RUNNER_FILE = "candidate_runner.py"
CAND_IN, CAND_OUT = 3, 4
"""File descriptors of the request and reply pipes in the candidate process."""
HIGH_FD = 240
"""Where a new process parks its pipes while rearranging descriptors (below the sandbox's 256 open
files)."""
MAX_REPLY = 48 * 1024 * 1024
MAX_RESTARTS = 20
NOT_RERAISED = (StopIteration, StopAsyncIteration)
"""Builtin exceptions that would end a test's ``map``/iteration silently: raised as CandidateError
instead."""
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_RAISING_SIGNALS = {}
"""Signals whose Python handler raises (SIGINT's ``KeyboardInterrupt``), ignored by the harness and
the test process (:func:`ignore_raising_signals`), with the handler the candidate gets back."""


def ignore_raising_signals():
    """Ignore every signal whose Python handler would raise (SIGINT): the candidate may send them to
    the harness and the test process (same uid), and a ``KeyboardInterrupt`` there would end the run
    in an ``error``. Forks inherit this; :meth:`Process._child` restores the handlers for the
    candidate."""
    for sig in signal.valid_signals() if hasattr(signal, "valid_signals") else (signal.SIGINT,):
        try:
            handler = signal.getsignal(sig)
        except (OSError, ValueError):
            continue
        if callable(handler) and sig not in _RAISING_SIGNALS:
            _RAISING_SIGNALS[sig] = handler
            signal.signal(sig, signal.SIG_IGN)


def _restore_raising_signals(exec_fresh):
    """In the candidate's process: the default a Python program starts with (a fresh ``exec``
    installs it)."""
    for sig, handler in _RAISING_SIGNALS.items():
        signal.signal(sig, signal.SIG_DFL if exec_fresh else handler)


class CallAbort(BaseException):
    """A call into the candidate did not return: ``code`` is timeout, output_limit, memory_limit or
    runtime_error."""

    def __init__(self, code, message):
        BaseException.__init__(self, message)
        self.code, self.message = code, message


class CandidateError(Exception):
    """An exception the candidate raised that is not a builtin ``Exception`` (its type and
    message)."""


class CandidateExit(BaseException):
    """``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit`` or another non-``Exception`` the
    candidate raised: like them, not caught by a test's ``except Exception``."""


class UnsendableArgument(WireError):
    """The tests passed an object of their own (a function, a class, an instance) to the program:
    not supported."""


class _Stopped(Exception):
    """The candidate process stopped answering (``how``: timeout, output_limit, crashed,
    garbled)."""

    def __init__(self, how):
        Exception.__init__(self, how)
        self.how = how


class Process(object):
    """One candidate process and its three pipes (requests, replies, stdout+stderr)."""

    def __init__(self, job, libc, runner):
        self.job, self.libc = job, libc
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        go_r, self.go_w = os.pipe()
        self.status = None
        self.pending = b""
        self.ahead = memoryview(b"")
        self.pid = os.fork()
        if self.pid == 0:
            self._child(req_r, rep_w, out_w, go_r, runner)
        for fd in (req_r, rep_w, out_w, go_r):
            os.close(fd)
        os.set_blocking(self.req_w, False)

    def _child(self, req_r, rep_w, out_w, go_r, runner):
        """In the new process: only the pipes stay open; wait for ``go``; become the candidate.

        ``runner`` is the candidate runner's code object (run in this forked process), or None
        to exec a fresh interpreter on the runner file.
        """
        try:
            os.setsid()
            keep = [os.dup2(fd, HIGH_FD + i) for i, fd in enumerate((req_r, rep_w, out_w, go_r))]
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(keep[2], 1)
            os.dup2(keep[2], 2)
            os.dup2(keep[0], CAND_IN)
            os.dup2(keep[1], CAND_OUT)
            go = os.dup2(keep[3], CAND_OUT + 1)
            os.closerange(CAND_OUT + 2, 65536)
            if self.libc is not None:
                self.libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                self.libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
            if os.read(go, 1) != b"g":
                os._exit(125)  # the test process went away before releasing us
            os.close(go)
            memory = self.job["memory_mb"] * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            _restore_raising_signals(runner is None)
            if runner is None:
                for sig in (signal.SIGPIPE, signal.SIGXFSZ):
                    signal.signal(sig, signal.SIG_DFL)
                os.execv(
                    sys.executable,
                    [sys.executable, "-I", "-S", RUNNER_FILE, str(CAND_IN), str(CAND_OUT)],
                )
            namespace = {"__name__": "rlvr_candidate"}
            exec(runner, namespace)
            namespace["main"](CAND_IN, CAND_OUT)
        except BaseException:
            pass
        os._exit(127)

    def release(self):
        os.write(self.go_w, b"g")
        os.close(self.go_w)
        self.go_w = None

    def send_ahead(self, data):
        """Start sending a request line without waiting; :meth:`exchange` (``data`` None) sends the
        rest."""
        view = memoryview(data)
        try:
            view = view[os.write(self.req_w, view[: 1 << 16]) :]
        except BlockingIOError:
            pass
        except OSError:  # the candidate closed its end: its reply pipe will say how it ended
            view = view[:0]
        self.ahead = view

    def exchange(self, data, deadline):
        """Send one request line (None: the rest of :meth:`send_ahead`'s), return the reply line;
        raises :class:`_Stopped`."""
        view = memoryview(data) if data is not None else self.ahead
        poller = select.poll()
        poller.register(self.rep_r, select.POLLIN)
        poller.register(self.out_r, select.POLLIN)
        poller.register(self.req_w, select.POLLOUT)
        output = 0
        while b"\n" not in self.pending:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise _Stopped("timeout")
            for fd, _ in poller.poll(int(wait * 1000) + 1):
                if fd == self.req_w:
                    view = self._send(view, poller)
                elif fd == self.out_r:
                    output = self._drain(poller, output)
                else:
                    self._receive()
        line, _, self.pending = self.pending.partition(b"\n")
        return line

    def _send(self, view, poller):
        try:
            view = view[os.write(self.req_w, view[: 1 << 16]) :]
        except OSError:  # the candidate closed its end: its reply pipe will say how it ended
            view = view[:0]
        if not view:
            poller.unregister(self.req_w)
        return view

    def _drain(self, poller, output):
        chunk = os.read(self.out_r, 1 << 16)
        if not chunk:
            poller.unregister(self.out_r)
            return output
        output += len(chunk)
        if output > self.job["output_bytes"]:
            raise _Stopped("output_limit")
        return output

    def _receive(self):
        chunk = os.read(self.rep_r, 1 << 20)
        if not chunk:
            raise _Stopped("crashed")
        self.pending += chunk
        if len(self.pending) > MAX_REPLY:
            raise _Stopped("garbled")

    def wait_exit(self, seconds):
        """Reap the process if it exits within ``seconds`` (it closed its pipes: it is probably
        dying)."""
        deadline = time.monotonic() + seconds
        while self.status is None and time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.status = status
            else:
                time.sleep(0.002)
        return self.status is not None

    def kill(self):
        for target in (
            lambda: os.killpg(self.pid, signal.SIGKILL),
            lambda: os.kill(self.pid, signal.SIGKILL),
        ):
            try:
                target()
            except OSError:
                pass
        if self.status is None:
            try:
                self.status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:
                self.status = 0
        for fd in (self.req_w, self.rep_r, self.out_r, self.go_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def death(self, when):
        """``(code, message)`` for how the killed/dead process ended."""
        status = self.status or 0
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGKILL:
                return "memory_limit", "the program was killed (SIGKILL, memory limit) %s" % when
            return "runtime_error", "the program was killed by signal %d %s" % (sig, when)
        return "runtime_error", "the program exited with code %d %s" % (
            os.WEXITSTATUS(status),
            when,
        )


class Client(object):
    """RPC to the candidate: calls, attribute access, iteration; restarts after a failure.

    ``on_abort(abort)`` is told of every :class:`CallAbort` before it is raised; ``report(record)``
    sends facts (candidate pids) to the harness.
    """

    def __init__(self, job, libc, report, make_proxy, runner=None):
        self.job, self.libc, self.report = job, libc, report
        self.runner = runner
        self.make_proxy = make_proxy
        self.proxies = {}
        self.generation = 0
        self.process = None
        self.dead = None
        self.restarts = 0
        self.on_abort = lambda abort: None
        self.load_request = None

    # ------------------------------------------------------------ lifecycle
    def start(self, exec_fresh=False):
        """A new candidate process, waiting for :meth:`Process.release`: forked with the runner, or
        exec'd fresh."""
        self.generation += 1
        self.process = Process(
            self.job, self.libc, None if exec_fresh or self.runner is None else self.runner
        )
        self.report({"pid": self.process.pid})
        return self.process

    def start_load(self, names):
        """Load the program in the (released) process: send the request and return at once (the
        program loads while this process does other work); :meth:`finish_load` waits for the
        reply."""
        self.load_request = {
            "op": "load",
            "code": self.job["code"],
            "setup": self.job.get("setup") or "",
            "names": list(names),
        }
        self.process.send_ahead(self._load_line())

    def finish_load(self):
        """The reply to :meth:`start_load` (``loaded`` or ``load_error``, within ``timeout_s`` from
        now), or raises _Stopped."""
        line = self.process.exchange(None, time.monotonic() + self.job["timeout_s"])
        return loads(line.decode())

    def _load(self):
        line = self.process.exchange(self._load_line(), time.monotonic() + self.job["timeout_s"])
        return loads(line.decode())

    def _load_line(self):
        return _dumps(dict(self.load_request, gen="g%d" % self.generation))

    def close(self):
        if self.process is not None:
            self.process.kill()

    def _restart(self):
        self.process.kill()
        if self.restarts >= MAX_RESTARTS:
            self.dead = (
                "runtime_error",
                "the program was restarted %d times; no more calls are made" % MAX_RESTARTS,
            )
            return
        self.restarts += 1
        try:
            self.start(exec_fresh=True).release()
            reply = self._load()
        # _Stopped, an undecodable reply, OSError (the program used up processes or pipes)
        except Exception:
            reply = {}
        if type(reply) is not dict or "loaded" not in reply:
            self.process.kill()
            self.dead = (
                "runtime_error",
                "the program could not be loaded again after it was restarted",
            )

    # ------------------------------------------------------------ requests
    def request(self, message):
        """One request -> the reply dict; raises CallAbort when the candidate does not answer."""
        if self.dead is not None:
            raise self._abort(CallAbort(*self.dead))
        try:
            line = self.process.exchange(_dumps(message), time.monotonic() + self.job["timeout_s"])
            reply = loads(line.decode())
            if type(reply) is not dict:
                raise ValueError("reply is not an object")
            return reply
        except _Stopped as stopped:
            abort = self._stopped(stopped.how)
        except Exception:  # undecodable: not JSON, too deep (RecursionError), too big (MemoryError)
            abort = self._stopped("garbled")
        raise self._abort(abort)

    def _stopped(self, how):
        if how == "timeout":
            abort = CallAbort(
                "timeout", "a call did not return within %g s" % self.job["timeout_s"]
            )
        elif how == "output_limit":
            abort = CallAbort(
                "output_limit", "the program printed more than %d bytes" % self.job["output_bytes"]
            )
        elif how == "garbled":
            abort = CallAbort("runtime_error", "the program's process sent a malformed reply")
        elif self.process.wait_exit(0.25):
            self.process.kill()
            abort = CallAbort(*self.process.death("during a call"))
        else:
            abort = CallAbort("runtime_error", "the program closed its reply pipe during a call")
        self._restart()
        return abort

    def _abort(self, abort):
        self.on_abort(abort)
        return abort

    def value(self, reply):
        """The value of a reply, or the candidate's exception raised here."""
        if "e" in reply:
            raise candidate_exception(reply["e"])
        try:
            return self.decode(reply["r"])
        except Exception as exc:  # WireError, KeyError, RecursionError, MemoryError...
            raise CandidateError(
                "the program returned a malformed value (%s: %s)"
                % (type(exc).__name__, str(exc)[:100])
            )

    def encode(self, value):
        return Encoder(self.handle_id).encode(value)

    def decode(self, data):
        return Decoder(self.proxy).decode(data)

    def proxy(self, ident, type_name):
        known = self.proxies.get(ident)
        if known is None:
            known = self.proxies[ident] = self.make_proxy(ident, type_name)
        return known

    def handle_id(self, value):
        """A proxy's id; a test-side iterator (generator, map, ...) as its items; anything else is
        refused.

        Refused as the tests' fault (:class:`UnsendableArgument`) only when it is an object of the
        tests; an integer too large to send may be the program's (computed from its results): a
        plain WireError.
        """
        if type(value) is not self.make_proxy and _is_iterator(value):
            return {"$iter": [self.encode(item) for item in value]}
        if type(value) is int:
            raise WireError(
                "an integer of %d bits is too large to send to the program" % value.bit_length()
            )
        # type() of a namedtuple the program returned
        if any(value is kind for kind in _NAMEDTUPLES.values()):
            raise WireError(
                "the class of a namedtuple the program returned cannot be sent back to it"
            )
        ident = value._rlvr_ident if type(value) is self.make_proxy else None
        if ident is None or self.proxies.get(ident) is not value:
            raise UnsendableArgument(
                "%s from the tests cannot be passed to the program (only plain values and the "
                "program's own objects can)" % type(value).__name__
            )
        return ident

    def op(self, name, target, **fields):
        fields["op"], fields["t"] = name, target._rlvr_ident
        return self.value(self.request(fields))

    def call(self, target, args, kwargs):
        encoded = [self.encode(a) for a in args]
        named = [[k, self.encode(v)] for k, v in kwargs.items()]
        reply = self.request({"op": "call", "t": target._rlvr_ident, "a": encoded, "k": named})
        result = self.value(reply)
        try:
            for where, data in reply.get("m") or ():
                _copy_back(args[where] if type(where) is int else kwargs[where], self.decode(data))
        except Exception as exc:
            raise CandidateError(
                "the program sent back malformed arguments (%s)" % type(exc).__name__
            )
        return result

    def next_items(self, target, count):
        reply = self.request({"op": "next", "t": target._rlvr_ident, "n": count})
        items = self.value(reply)
        if type(items) is not list:
            raise CandidateError("the program's iterator sent a malformed batch")
        return items, bool(reply.get("done"))


def candidate_exception(error):
    """The candidate's exception as one raised here: the same builtin type, else
    :class:`CandidateError`."""
    try:
        name, message, builtin, ordinary = (
            str(error[0])[:100],
            str(error[1])[:300],
            error[2] is True,
            error[3] is True,
        )
    except (TypeError, IndexError, KeyError):
        name, message, builtin, ordinary = "Error", "", False, True
    kind = getattr(builtins, name, None)
    exc = None
    if (
        builtin
        and isinstance(kind, type)
        and issubclass(kind, Exception)
        and not issubclass(kind, NOT_RERAISED)
    ):
        try:
            exc = kind(message)
        except Exception:
            exc = None
    if exc is None:
        wrapper = CandidateError if ordinary else CandidateExit
        exc = wrapper("%s: %s" % (name, message) if message else name)
    try:
        exc._rlvr_from_candidate = True
    except AttributeError:
        pass
    return exc


def _is_iterator(value):
    try:
        return callable(getattr(type(value), "__next__", None)) and iter(value) is value
    except Exception:
        return False


def _copy_back(target, value):
    """Make the test's argument equal to what the candidate left in its copy (in-place mutation)."""
    if type(target) is list and type(value) is list:
        target[:] = value
    elif type(target) in (dict, set) and type(value) is type(target):
        target.clear()
        target.update(value)
    elif type(target) is bytearray and type(value) is bytearray:
        target[:] = value


def _dumps(message):
    return (dumps(message) + "\n").encode()
