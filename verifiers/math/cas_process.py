"""The CAS helper: a persistent child process that runs sympy work and can be killed.

``MathVerifier.verify()`` may be called anywhere: in the main thread, in a thread, inside a batch
worker. Timeouts by ``signal.alarm`` break in threads, so every CAS call goes to a child process
forked lazily on first use, talked to over a socket pair, and killed (then respawned on the next
call) when it overruns its bound. The child asks the kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG``), sits in its parent's process group (so a batch worker killed with its
group takes its helper along), and is killed at interpreter exit. Its process name is
``rlvr-math-cas`` so leftover processes are easy to find.

>>> helper = CasHelper(memory_limit_mb=1024)
>>> helper.call(("judge", ["1/2"], ["0.5"], 1e-9), timeout_s=30)["equal"]  # doctest: +SKIP
True
>>> helper.close()
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import resource
import signal
import socket
import threading
import weakref
from multiprocessing.connection import Connection
from typing import Any

PROCESS_NAME = b"rlvr-math-cas"
_PR_SET_NAME, _PR_SET_PDEATHSIG = 15, 1
_live: "weakref.WeakSet[CasHelper]" = weakref.WeakSet()


class CasHelper:
    """One child process serving CAS requests; ``call`` returns ``None`` on timeout."""

    def __init__(self, memory_limit_mb: int) -> None:
        self.memory_limit_mb = memory_limit_mb
        self._pid: int | None = None
        self._conn: Connection | None = None
        self._owner = os.getpid()
        self._lock = threading.Lock()
        _live.add(self)

    @property
    def pid(self) -> int | None:
        """Process id of the running child, if any (for tests and diagnostics)."""
        return self._pid if self._owner == os.getpid() else None

    def call(self, request: tuple, timeout_s: float) -> dict[str, Any] | None:
        """Send ``request``; the child's answer, ``None`` on timeout, or an ``outcome: crashed``
        dict."""
        with self._lock:
            return self._call(request, timeout_s)

    def _call(self, request: tuple, timeout_s: float) -> dict[str, Any] | None:
        for _attempt in range(2):  # a child that died between calls gets one fresh retry
            conn = self._ensure()
            try:
                conn.send(request)
                if not conn.poll(timeout_s):
                    self.close()
                    return None
                return conn.recv()
            except (EOFError, OSError):
                self.close()
        return {"outcome": "crashed", "message": "the CAS helper process died twice on this answer"}

    def close(self) -> None:
        """Kill the child (if this process owns one) and reap it."""
        pid, conn = self._pid, self._conn
        self._pid, self._conn = None, None
        if conn is not None:
            conn.close()
        if pid is not None and self._owner == os.getpid():
            for step in (lambda: os.kill(pid, signal.SIGKILL), lambda: os.waitpid(pid, 0)):
                try:
                    step()
                except (ProcessLookupError, ChildProcessError):
                    pass

    def _forget(self) -> None:
        """In a forked copy of the owner: drop the inherited handle without touching the child."""
        if self._conn is not None:
            self._conn.close()
        self._pid, self._conn, self._owner = None, None, os.getpid()

    def _ensure(self) -> Connection:
        if self._owner != os.getpid():
            self._forget()
        if self._conn is not None and not self._alive():
            self.close()
        if self._conn is None:
            self._spawn()
        return self._conn

    def _alive(self) -> bool:
        """False when the child has exited, e.g. killed because the thread that forked it ended
        (``PR_SET_PDEATHSIG`` follows the forking thread)."""
        try:
            return os.waitpid(self._pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def _spawn(self) -> None:
        from . import equivalence  # noqa: F401  - import sympy once here, so respawns are cheap

        parent_sock, child_sock = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                parent_sock.close()
                _child_main(Connection(child_sock.detach()), self.memory_limit_mb)
            finally:
                os._exit(0)
        child_sock.close()
        self._conn, self._pid, self._owner = Connection(parent_sock.detach()), pid, os.getpid()


def _child_main(conn: Connection, memory_limit_mb: int) -> None:  # pragma: no cover - child
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_NAME, ctypes.c_char_p(PROCESS_NAME))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    _limit_memory(memory_limit_mb)
    from .equivalence import judge

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_serve(judge, request))


def _serve(judge: Any, request: tuple) -> dict[str, Any]:  # pragma: no cover - child
    try:
        _, gold_parts, pred_parts, rel_tol, *options = request
        return judge(gold_parts, pred_parts, rel_tol, **(options[0] if options else {}))
    except MemoryError:
        return {"outcome": "resource", "message": "the CAS ran out of memory on this answer"}
    except RecursionError:
        return {"outcome": "resource", "message": "the answer nests too deeply for the CAS"}
    except Exception as exc:  # a sympy bug on odd input must not kill the helper
        return {"outcome": "crashed", "message": f"{type(exc).__name__}: {str(exc)[:300]}"}


def _prctl(option: int, value: Any) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: best effort only
        pass


def _limit_memory(extra_mb: int) -> None:  # pragma: no cover - child
    try:
        with open("/proc/self/status") as fh:
            vm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
        limit = vm_kb * 1024 + extra_mb * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError, StopIteration):
        pass


def _forget_all_after_fork() -> None:
    for helper in list(_live):
        helper._forget()


def _close_all() -> None:
    for helper in list(_live):
        helper.close()


os.register_at_fork(after_in_child=_forget_all_after_fork)
atexit.register(_close_all)
