"""Executors: where batch grading runs. The seam for scaling out.

An :class:`Executor` takes :class:`Job` s and yields ``(index, Verdict)`` pairs as they finish,
in any order. It owns the per-item time bound: a job that hangs is killed and becomes a
``timeout`` verdict; a job that crashes its worker becomes an ``error`` verdict; the batch goes
on. Two executors ship:

* :class:`ProcessPoolExecutor` - persistent local worker processes (the default);
* :class:`InlineExecutor` - grades in the calling process, with no time bound (debugging).

A backend for many machines (e.g. Ray) implements the same ``map``/``close`` pair.

>>> from verifiers import GradeItem, InlineExecutor, Job
>>> job = Job(7, GradeItem("{}", {"schema": {}}, "json_schema@1"))
>>> [(index, verdict.status.value) for index, verdict in InlineExecutor().map([job])]
[(7, 'pass')]
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any, Iterable, Iterator, Protocol

from . import registry
from .base import Outcome, Verifier, error_verdict, stamp
from .grade_item import GradeItem
from .verdict import Verdict


@dataclass(frozen=True)
class Job:
    """One :class:`~verifiers.GradeItem` to grade and its position in the batch.

    Jobs are what crosses to a worker (pickled), so they carry no more than grading needs.
    """

    index: int
    """Where the item sits in the batch; its verdict comes back paired with it."""
    item: GradeItem


class Executor(Protocol):
    """Runs jobs and yields ``(index, verdict)`` pairs, one per job, in completion order."""

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Verdict]]: ...

    def close(self) -> None: ...


def run_job(job: Job) -> Verdict:
    """Grade one job in this process (what every executor's worker ends up calling)."""
    start = time.perf_counter()
    item = job.item
    try:
        verifier = _resolve(item)
    except Exception as exc:
        return _unknown_verifier(item, exc)
    try:
        return verifier.verify(item.response, item.reference)
    except Exception as exc:  # a third-party verifier that does not follow the protocol
        outcome = Outcome.error("verifier_crashed", f"{type(exc).__name__}: {str(exc)[:500]}")
        return stamp(verifier, outcome, item.response, item.reference, time.perf_counter() - start)


class InlineExecutor:
    """Grades jobs one by one in the calling process. No time bound: for debugging only."""

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Verdict]]:
        for job in jobs:
            yield job.index, run_job(job)

    def close(self) -> None:
        pass

    def __enter__(self) -> "InlineExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


#: Jobs at most this large (pickled) may queue behind a running one; larger ones wait for an
#: idle worker, so a send never blocks on a full pipe while the worker is busy.
PIPELINE_MAX_BYTES = 16 * 1024
#: Workers in a row that may die before taking a job before the pool gives up.
MAX_SEND_FAILURES = 8


class _Worker:
    def __init__(self, ctx: Any, memory_limit_mb: int | None) -> None:
        self.conn, child_conn = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_worker_main, args=(child_conn, memory_limit_mb, os.getpid()), daemon=True
        )
        self.process.start()
        child_conn.close()
        self.jobs: deque[tuple[Job, bytes]] = deque()  # in flight; the head is the one running
        self.deadline = 0.0
        self.started = 0.0

    def send(self, job: Job, data: bytes, timeout_s: float) -> None:
        self.conn.send_bytes(data)
        if not self.jobs:
            self.start_clock(timeout_s)
        self.jobs.append((job, data))

    def start_clock(self, timeout_s: float) -> None:
        """The head job starts now: its bound runs from here."""
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s

    def kill(self) -> None:
        pid = self.process.pid
        for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                kill()
            except (ProcessLookupError, PermissionError, TypeError):
                pass
        self.process.join(timeout=5)
        self.conn.close()


class ProcessPoolExecutor:
    """Persistent pool of worker processes with a per-item wall-clock bound.

    Workers run in their own process group, so a timeout kills the item's whole process tree.
    A killed or crashed worker is replaced at once, and the jobs queued behind the one it was
    running go to other workers. Use as a context manager or call :meth:`close`. A worker whose
    grader dies without closing the pool (SIGKILL, SIGTERM) kills itself and its process group
    within :data:`ORPHAN_CHECK_S`, so nothing is left behind even then.

    Args:
        workers: number of worker processes (default: the CPUs this process may use).
        timeout_s: wall-clock bound per item, after which the item is a ``timeout`` verdict.
            An item's bound starts when its worker starts it, not while it waits in a queue.
        memory_limit_mb: extra address space each worker may take beyond its start size
            (``None`` for no limit); an item that exceeds it becomes an ``error`` verdict.
        start_method: multiprocessing start method; ``fork`` (default) lets workers see
            verifiers registered at run time in the parent.
        prefetch: jobs in flight per worker (``1`` = send the next job only when the worker
            is idle). With ``2`` (default) a small next job waits in the worker's pipe, so the
            worker never sits idle while the parent collects a verdict.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout_s: float = 30.0,
        memory_limit_mb: int | None = 4096,
        start_method: str = "fork",
        prefetch: int = 2,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(
                f"workers must be >= 1, got {workers}; use InlineExecutor for in-process grading"
            )
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        if prefetch < 1:
            raise ValueError(f"prefetch must be >= 1 (jobs in flight per worker), got {prefetch}")
        self.workers = workers or available_cpus()
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb
        self.prefetch = prefetch
        self._send_failures = 0
        self._ctx = multiprocessing.get_context(start_method)
        self._pool: list[_Worker] = []

    def __enter__(self) -> "ProcessPoolExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (and anything it started in its process group)."""
        for worker in self._pool:
            worker.kill()
        self._pool = []

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Verdict]]:
        try:
            yield from self._map(jobs)
        finally:  # the caller stopped early: workers still holding jobs are replaced
            for worker in list(self._pool):
                if worker.jobs:
                    worker.jobs.clear()
                    self._replace(worker)

    def _map(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Verdict]]:
        pending: deque[tuple[Job, bytes]] = deque()
        source = iter(jobs)
        self._fill_pool()
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.workers * self.prefetch:
                job = next(source, None)
                if job is None:
                    exhausted = True
                    continue
                data, failure = _pickle_job(job)
                if failure is not None:
                    yield job.index, failure
                else:
                    pending.append((job, data))
            self._dispatch(pending)
            busy = {w.conn: w for w in self._pool if w.jobs}
            if not busy:
                if exhausted and not pending:
                    return
                continue
            yield from self._collect(busy, pending)

    def _fill_pool(self) -> None:
        self._pool = [w for w in self._pool if w.process.is_alive()]
        while len(self._pool) < self.workers:
            self._pool.append(_Worker(self._ctx, self.memory_limit_mb))

    def _dispatch(self, pending: deque[tuple[Job, bytes]]) -> None:
        """Give idle workers a job first, then queue small jobs behind running ones."""
        for depth in range(self.prefetch):
            for worker in self._pool:
                if not pending:
                    return
                if len(worker.jobs) != depth or (
                    depth > 0 and len(pending[0][1]) > PIPELINE_MAX_BYTES
                ):
                    continue
                job, data = pending.popleft()
                try:
                    worker.send(job, data, self.timeout_s)
                except OSError:  # the worker died between jobs: replace it, retry the job elsewhere
                    pending.appendleft((job, data))
                    self._retire(worker, pending)
                    self._send_failures += 1
                    if self._send_failures > MAX_SEND_FAILURES:
                        raise RuntimeError(
                            f"{self._send_failures} grading workers in a row died before taking "
                            "a job; check memory_limit_mb and the system's process limits"
                        ) from None
                    return
                self._send_failures = 0

    def _collect(
        self, busy: dict[Connection, _Worker], pending: deque[tuple[Job, bytes]]
    ) -> Iterator[tuple[int, Verdict]]:
        now = time.monotonic()
        next_deadline = min(w.deadline for w in busy.values())
        ready = wait(list(busy), timeout=max(0.0, next_deadline - now))
        for conn in ready:
            worker = busy.pop(conn)
            job, _ = worker.jobs.popleft()
            try:
                verdict = conn.recv()
            except (EOFError, OSError):
                verdict = self._crashed(worker, job, pending)
            except Exception as exc:
                verdict = _stamp_failure(
                    job, Outcome.error("bad_worker_result", repr(exc)[:500]), 0.0
                )
            if worker.jobs:
                worker.start_clock(self.timeout_s)
            yield job.index, verdict
        now = time.monotonic()
        for conn, worker in list(busy.items()):
            if worker.deadline <= now:
                busy.pop(conn)
                job, _ = worker.jobs.popleft()
                self._retire(worker, pending)
                message = (
                    f"grading did not finish within {self.timeout_s:g} s; the worker was killed"
                )
                outcome = Outcome.timeout(message, killed_after_s=self.timeout_s)
                yield job.index, _stamp_failure(job, outcome, now - worker.started)

    def _crashed(self, worker: _Worker, job: Job, pending: deque[tuple[Job, bytes]]) -> Verdict:
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        elapsed = time.monotonic() - worker.started
        self._retire(worker, pending)
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return _stamp_failure(
            job, Outcome.error("worker_crashed", f"the grading worker died ({how})"), elapsed
        )

    def _retire(self, worker: _Worker, pending: deque[tuple[Job, bytes]]) -> None:
        """Replace ``worker``; the jobs still queued behind its running one go back to the front."""
        pending.extendleft(reversed(worker.jobs))
        worker.jobs.clear()
        self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        index = self._pool.index(worker)
        self._pool[index] = _Worker(self._ctx, self.memory_limit_mb)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, as set by taskset or a container), at
    least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _pickle_job(job: Job) -> tuple[bytes, Verdict | None]:
    """The job as the bytes a worker receives, or an ``error`` verdict if it cannot be sent."""
    try:
        return ForkingPickler.dumps(job), None
    except Exception as exc:  # unpicklable or too-deep reference
        message = f"could not send item to a worker: {exc!r}"[:500]
        return b"", _stamp_failure(job, Outcome.error("unsendable_item", message), 0.0)


def _stamp_failure(job: Job, outcome: Outcome, elapsed_s: float) -> Verdict:
    """The verdict of a job its worker could not grade (timeout, crash, unsendable)."""
    item = job.item
    try:
        verifier = _resolve(item)
    except Exception as exc:
        return _unknown_verifier(item, exc)
    return stamp(verifier, outcome, item.response, item.reference, elapsed_s)


def _resolve(item: GradeItem) -> Verifier:
    """The item's verifier: a spec is looked up in this process's registry."""
    return registry.get(item.verifier) if isinstance(item.verifier, str) else item.verifier


def _unknown_verifier(item: GradeItem, exc: Exception) -> Verdict:
    return error_verdict(
        "unknown_verifier",
        str(exc),
        verifier=str(item.verifier),
        response=item.response,
        reference=item.reference,
    )


#: Seconds between a worker's checks that the process that started it is still alive.
ORPHAN_CHECK_S = 0.5


def _worker_main(conn: Connection, memory_limit_mb: int | None, parent: int) -> None:
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent)
    if memory_limit_mb:
        _limit_address_space(memory_limit_mb)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            verdict = run_job(job)
        except MemoryError:
            verdict = _stamp_failure(
                job, Outcome.error("out_of_memory", "the grading worker ran out of memory"), 0.0
            )
        conn.send(verdict)


def _watch_parent(parent: int) -> None:
    """Kill this worker's process group once ``parent`` is gone (it was SIGKILLed or SIGTERMed).

    Workers run in their own session, so nothing else would stop a worker stuck in a hanging
    item, or the processes that item started, after the grader dies without closing its pool.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="rlvr-orphan-watch", daemon=True).start()


def _limit_address_space(extra_mb: int) -> None:
    try:
        with open("/proc/self/status") as fh:
            vm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
        limit = vm_kb * 1024 + extra_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError, StopIteration):
        pass
