"""Grade a whole rollout wave in one executor call while environments are stepped one by one.

The rl package sees environments only through ``env.step``; a single-turn environment grades inside
``step`` with the executor it was given at make time, one completion per call. Stepping B*G
environments in turn therefore costs B*G round trips to the grading pool, each one waking a worker
process. :class:`GatheringExecutor` wraps that shared executor: the runner steps the environments of
a wave on threads inside :meth:`GatheringExecutor.gather`, each ``step`` blocks in :meth:`map`, and
once every step of the wave is either waiting there or finished, all their jobs go to the inner
executor as one batch (its workers run them in parallel, with their next job already queued).
Verdicts, their order and the per-item time bound are exactly the inner executor's.

>>> from verifiers import ProcessPoolExecutor
>>> pool = GatheringExecutor(ProcessPoolExecutor(2, timeout_s=30))   # doctest: +SKIP
>>> envs = make_envs("rlvr/Math-v1", 8, executor=pool)              # doctest: +SKIP
>>> with pool.gather(len(envs)) as wave:                           # doctest: +SKIP
...     results = wave.run([lambda env=env: env.step("42") for env in envs])
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

from verifiers import Executor, Job, Verdict

#: Most environment steps run concurrently in one wave (one thread each); larger batches go in
#: waves.
MAX_WAVE = 64


class _Request:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.results: list[tuple[int, Verdict]] = []
        self.error: BaseException | None = None
        self.ready = threading.Event()


class _Wave:
    """Callers of one wave: a flush happens when every unfinished caller is waiting in ``map``."""

    def __init__(
        self, executor: "GatheringExecutor", callers: int, threads: ThreadPoolExecutor
    ) -> None:
        self.executor, self.active, self.threads = executor, callers, threads
        self.waiting: list[_Request] = []
        self.lock = threading.Lock()

    def run(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run ``calls`` (at most the wave's caller count) on threads; results in order, first error
        re-raised."""
        unused = self.active - len(calls)
        if unused < 0:
            raise ValueError(
                f"the wave was opened for {self.active} callers but got {len(calls)} calls"
            )
        futures = [self.threads.submit(self._call, call) for call in calls]
        for _ in range(unused):  # callers announced but never started
            self.finish()
        return [f.result() for f in futures]

    def _call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        finally:
            self.finish()

    def finish(self) -> None:
        with self.lock:
            self.active -= 1
            batch = self._take()
        self.executor._flush(batch)

    def submit(self, request: _Request) -> None:
        with self.lock:
            self.waiting.append(request)
            batch = self._take()
        self.executor._flush(batch)
        request.ready.wait()

    def _take(self) -> list[_Request]:
        if self.waiting and len(self.waiting) >= self.active:
            batch, self.waiting = self.waiting, []
            return batch
        return []


class GatheringExecutor:
    """An executor wrapper that batches the ``map`` calls of concurrently stepped environments.

    Outside :meth:`gather` (or from a thread the wave did not start) ``map`` passes straight
    through.

    Args:
        inner: the executor that grades (e.g. :class:`verifiers.ProcessPoolExecutor`); closed by
            :meth:`close`.
    """

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self._wave: _Wave | None = None
        self._wave_threads: set[int] = set()
        self._threads: ThreadPoolExecutor | None = None

    @contextmanager
    def gather(self, callers: int) -> Iterator[_Wave]:
        """A wave of ``callers`` environment steps; run them with the yielded wave's ``run``."""
        if not 1 <= callers <= MAX_WAVE:
            raise ValueError(
                f"a wave holds 1..{MAX_WAVE} callers, got {callers}; split larger batches into "
                "waves"
            )
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                MAX_WAVE,
                thread_name_prefix="rlvr-step",
                initializer=lambda: self._wave_threads.add(threading.get_ident()),
            )
        self._wave = _Wave(self, callers, self._threads)
        try:
            yield self._wave
        finally:
            self._wave = None

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Verdict]]:
        """``(index, verdict)`` for each job: batched with the rest of the wave from a wave thread,
        else direct."""
        wave = self._wave
        if wave is None or threading.get_ident() not in self._wave_threads:
            yield from self.inner.map(jobs)
            return
        request = _Request(list(jobs))
        wave.submit(request)
        if request.error is not None:
            raise request.error
        yield from request.results

    def _flush(self, batch: list[_Request]) -> None:
        """Grade every waiting request's jobs in one inner ``map`` call, then wake their callers."""
        if not batch:
            return
        try:
            owners, jobs = {}, []
            for request in batch:
                for job in request.jobs:
                    owners[len(jobs)] = (request, job.index)
                    jobs.append(dataclasses.replace(job, index=len(jobs)))
            for index, verdict in self.inner.map(jobs):
                request, own = owners[index]
                request.results.append((own, verdict))
        except BaseException as exc:  # every waiting caller sees the failure (none is left waiting)
            for request in batch:
                request.error = exc
        finally:
            for request in batch:
                request.ready.set()

    def warm(self) -> None:
        """Start the inner executor's workers now (before any thread exists), if it starts them
        lazily."""
        list(self.inner.map([]))

    def close(self) -> None:
        """Stop the stepping threads and close the inner executor."""
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        self.inner.close()
