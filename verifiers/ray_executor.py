"""A Ray executor: batch grading spread over the nodes of a Ray cluster.

:class:`RayExecutor` implements the same ``map``/``close`` pair as
:class:`~verifiers.executor.ProcessPoolExecutor`, so ``grade_batch(..., executor=RayExecutor())``,
``rlvr grade --executor ray`` and the trainer's grading use it unchanged. The contract does not
change on a cluster: N jobs in, N verdicts out, each item bounded by ``timeout_s``.

How it runs: one actor per live node (pinned there with node affinity), each owning a local
:class:`~verifiers.executor.ProcessPoolExecutor` created *inside* the actor. So the per-item time
bound, crash isolation and sandboxes are all local to the node that grades: a code verifier opens
its sandbox (Docker warm pool where the node has an engine, else the local backend) in a worker
process on that node; nothing sandbox-related crosses the wire, only
:class:`~verifiers.executor.Job` s in (each pickled apart) and :class:`~verifiers.Verdict` s out.
Jobs go to actors in small chunks, least-loaded first.

When a node (or its actor) dies, the jobs it held are sent once to another live actor; a job
whose second try also dies becomes an ``error`` verdict with code ``infrastructure_failure``
naming the node and the Ray error. It is never lost and never a ``fail``.

Verifiers are resolved on the nodes: a spec such as ``"math@2"`` needs ``rlvr`` (and any plugin
that registers the verifier) installed there; a verifier *instance* travels with its job, which
needs its class importable there.

Ray is an optional extra (``pip install 'rlvr[ray]'``), imported only here.

>>> from verifiers import GradeItem, grade_batch
>>> from verifiers.ray_executor import RayExecutor
>>> with RayExecutor(address="auto", timeout_s=10) as ex:  # doctest: +SKIP
...     verdicts = grade_batch([GradeItem("4", {"answer": "4"}, "math@2")], executor=ex)
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .base import Outcome, error_verdict
from .errors import require
from .executor import Job, ProcessPoolExecutor, _stamp_failure
from .verdict import Verdict

#: Jobs per chunk sent to an actor, per worker process on its node: the first chunk, and the bounds
#: of later ones, which are sized so a chunk takes about ``CHUNK_TARGET_S`` on its node (cheap items
#: go in large chunks so Ray's per-call cost is spread over many; slow ones go a few at a time).
CHUNK_PER_WORKER = 8
MAX_CHUNK_PER_WORKER = 64
CHUNK_TARGET_S = 0.1
#: Chunks in flight per actor: one running, the next waiting in the actor's queue.
CHUNKS_IN_FLIGHT = 2
#: Time an actor may take beyond its items' own bounds (start-up, a Docker warm pool) before it is
#: declared hung, killed, and its jobs retried elsewhere.
STALL_GRACE_S = 60.0
#: Tries per job on distinct nodes before it becomes an ``infrastructure_failure`` verdict.
MAX_TRIES = 2


class NodeGrader:
    """The Ray actor on one node: grades chunks of jobs in a local process pool.

    Created by :class:`RayExecutor`; the pool (and any sandbox its workers open) lives on this node.
    """

    def __init__(
        self, workers: int, timeout_s: float, memory_limit_mb: int | None, sandbox: str | None
    ) -> None:
        if sandbox:
            os.environ["RLVR_SANDBOX"] = sandbox  # read by code verifiers in the forked workers
        self.pool = ProcessPoolExecutor(
            workers, timeout_s=timeout_s, memory_limit_mb=memory_limit_mb
        )

    def grade(self, payloads: list[tuple[int, bytes]]) -> list[tuple[int, Verdict]]:
        """Grade ``(index, pickled job)`` pairs; a job that cannot be unpickled here (its class is
        not importable on this node) is answered alone, with an ``error`` verdict, as the local pool
        answers a bad item."""
        import pickle

        jobs, answered = [], []
        for index, payload in payloads:
            try:
                jobs.append(pickle.loads(payload))
            except Exception as exc:
                message = f"could not read the item on this node ({os.uname().nodename}): {exc!r}"[
                    :500
                ]
                answered.append((index, error_verdict("unsendable_item", message)))
        return answered + list(self.pool.map(jobs))

    def close(self) -> None:
        self.pool.close()

    def pid(self) -> int:
        """This actor's process id (diagnostics, tests)."""
        return os.getpid()


@dataclass
class _Actor:
    """The driver's view of one node's actor and the chunks it holds (oldest first)."""

    handle: Any
    node_id: str
    node_ip: str
    workers: int
    chunks: deque[tuple[Any, list[Job]]] = field(default_factory=deque)  # (ObjectRef, its jobs)
    clock: float = 0.0  # when the oldest chunk started (as far as the driver can tell)
    item_s: float | None = None  # seconds per item per worker on this node, smoothed

    def chunk_size(self) -> int:
        if self.item_s is None:
            return self.workers * CHUNK_PER_WORKER
        per_worker = CHUNK_TARGET_S / max(self.item_s, 1e-6)
        return self.workers * max(1, min(MAX_CHUNK_PER_WORKER, int(per_worker)))

    def finished(self, jobs: list[Job], now: float) -> None:
        """The oldest chunk (``jobs``) came back at ``now``: learn the item time, start the next
        clock."""
        sample = (now - self.clock) * self.workers / max(1, len(jobs))
        self.item_s = sample if self.item_s is None else (self.item_s + sample) / 2
        self.clock = now

    @property
    def name(self) -> str:
        return f"{self.node_ip} (node {self.node_id[:12]})"

    def load(self) -> int:
        return sum(len(jobs) for _, jobs in self.chunks)


class RayExecutor:
    """Grades jobs on every live node of a Ray cluster, each node with its own process pool.

    Args:
        address: the cluster: ``None`` connects to ``$RAY_ADDRESS`` if set, else starts a local
            Ray instance; ``"auto"`` finds a running cluster on this machine; ``"host:port"`` or
            ``"ray://host:port"`` (Ray Client) name one. Ignored when Ray is already initialised
            in this process. A cluster this executor did not start is never shut down.
        workers_per_node: grading processes per node (default: the node's CPUs as Ray reports them).
        timeout_s: wall-clock bound per item, enforced on the node that grades it.
        memory_limit_mb: extra address space per grading process (as in ``ProcessPoolExecutor``).
        sandbox: ``"auto"``, ``"docker"`` or ``"local"`` for code verifiers on every node
            (default: this process's ``$RLVR_SANDBOX``, else each node's auto choice: Docker where
            an engine answers and the runner image exists, the local backend elsewhere).

    Example::

        with RayExecutor(address="auto", timeout_s=10) as ex:
            verdicts = grade_batch(items, executor=ex)
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers_per_node: int | None = None,
        timeout_s: float = 30.0,
        memory_limit_mb: int | None = 4096,
        sandbox: str | None = None,
    ) -> None:
        if workers_per_node is not None and workers_per_node < 1:
            raise ValueError(f"workers_per_node must be >= 1, got {workers_per_node}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self._ray = require("ray", "ray")
        self.workers_per_node = workers_per_node
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb
        self.sandbox = sandbox or os.environ.get("RLVR_SANDBOX") or None
        self._owns_ray = not self._ray.is_initialized()
        if self._owns_ray:
            self._ray.init(address=address, logging_level="warning", log_to_driver=False)
        self._actors: list[_Actor] = []
        #: Counts since this executor was made: ``retried`` jobs, ``infrastructure_failures``
        #: (jobs given up), and ``nodes_lost`` (the nodes whose actor died or hung).
        self.stats: dict[str, Any] = {"retried": 0, "infrastructure_failures": 0, "nodes_lost": []}

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Kill the grading actors (and so their pools); disconnect if this executor connected."""
        for actor in self._actors:
            self._kill(actor)
        self._actors = []
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns_ray = False

    def nodes(self) -> list[str]:
        """Addresses of the nodes that currently hold a grading actor."""
        return [actor.name for actor in self._actors]

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Verdict]]:
        self._ensure_actors()
        run = _Run(self, iter(jobs))
        try:
            yield from run.results()
        finally:  # the caller stopped early: actors still holding chunks are replaced next time
            for actor in list(self._actors):
                if actor.chunks:
                    self._drop(actor)

    # -- actors ---------------------------------------------------------------------------------

    def _ensure_actors(self) -> None:
        """One actor on every live node with CPUs that has none yet (nodes come and go)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        have = {actor.node_id for actor in self._actors}
        remote = self._ray.remote(NodeGrader)
        for node in self._ray.nodes():
            cpus = node.get("Resources", {}).get("CPU", 0)
            if not node.get("Alive") or cpus <= 0 or node["NodeID"] in have:
                continue
            workers = self.workers_per_node or max(1, int(cpus))
            handle = remote.options(
                num_cpus=0,
                max_restarts=0,
                max_task_retries=0,
                max_concurrency=1,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote(workers, self.timeout_s, self.memory_limit_mb, self.sandbox)
            self._actors.append(
                _Actor(handle, node["NodeID"], node.get("NodeManagerAddress", "?"), workers)
            )
        if not self._actors:
            raise RuntimeError(
                "the Ray cluster has no live node with CPUs to grade on; "
                "check `ray status` and start a node with --num-cpus >= 1"
            )

    def _drop(self, actor: _Actor) -> None:
        self._kill(actor)
        self._actors.remove(actor)

    def _kill(self, actor: _Actor) -> None:
        try:
            self._ray.kill(actor.handle, no_restart=True)
        except Exception:  # already dead, or the cluster is gone
            pass
        actor.chunks.clear()


class _Run:
    """One ``map`` call: keeps actors fed, collects chunks, retries a dead node's jobs once."""

    def __init__(self, executor: RayExecutor, source: Iterator[Job]) -> None:
        self.ex = executor
        self.ray = executor._ray
        self.source = source
        self.exhausted = False
        self.pending: deque[Job] = deque()  # retries first, then fresh jobs
        self.failed_on: dict[int, list[str]] = {}  # job index -> the nodes that died holding it
        self.ready: list[tuple[int, Verdict]] = []

    def results(self) -> Iterator[tuple[int, Verdict]]:
        while True:
            self._dispatch()
            yield from self._drain_ready()
            refs = {ref: actor for actor in self.ex._actors for ref, _ in actor.chunks}
            if not refs:
                if self.exhausted and not self.pending:
                    return
                if not self.ex._actors:
                    self._no_actors_left()
                continue
            done, _ = self.ray.wait(list(refs), num_returns=1, timeout=self._wait_s())
            for ref in done:
                self._collect(refs[ref], ref)
            self._check_stalls()
            yield from self._drain_ready()

    def _drain_ready(self) -> Iterator[tuple[int, Verdict]]:
        while self.ready:
            yield self.ready.pop()

    def _next_jobs(self, count: int) -> list[Job]:
        jobs: list[Job] = []
        while len(jobs) < count:
            if self.pending:
                jobs.append(self.pending.popleft())
                continue
            job = None if self.exhausted else next(self.source, None)
            if job is None:
                self.exhausted = True
                break
            jobs.append(job)
        return jobs

    def _dispatch(self) -> None:
        """Least-loaded actor first, until every actor holds ``CHUNKS_IN_FLIGHT`` chunks or jobs run
        out."""
        while True:
            open_ = [a for a in self.ex._actors if len(a.chunks) < CHUNKS_IN_FLIGHT]
            if not open_ or (self.exhausted and not self.pending):
                return
            actor = min(open_, key=_Actor.load)
            jobs = self._next_jobs(actor.chunk_size())
            if jobs:
                self._submit(actor, jobs)

    def _submit(self, actor: _Actor, jobs: list[Job]) -> None:
        """Send a chunk, each job pickled apart: one that cannot be pickled here or unpickled there
        costs its own verdict, never the chunk or the node."""
        payloads = [(job.index, data) for job in jobs if (data := self._pickled(job)) is not None]
        sent = {index for index, _ in payloads}
        jobs = [job for job in jobs if job.index in sent]
        if not jobs:
            return
        ref = actor.handle.grade.remote(payloads)
        if not actor.chunks:
            actor.clock = time.monotonic()
        actor.chunks.append((ref, jobs))

    def _pickled(self, job: Job) -> bytes | None:
        """``job`` as bytes for a node, or ``None`` after answering it with an ``unsendable_item``
        verdict."""
        try:
            return self.ray.cloudpickle.dumps(job)
        except Exception as exc:
            message = f"could not send item to a Ray node: {exc!r}"[:500]
            self.ready.append(
                (job.index, _stamp_failure(job, Outcome.error("unsendable_item", message), 0.0))
            )
            return None

    def _collect(self, actor: _Actor, ref: Any) -> None:
        errors = self.ray.exceptions
        node_gone = (
            errors.RayActorError,
            errors.NodeDiedError,
            errors.ObjectLostError,
            errors.WorkerCrashedError,
            errors.LocalRayletDiedError,
        )
        try:
            results = self.ray.get(ref)
        except node_gone as exc:
            self._node_failed(actor, _describe(exc))
            return
        # the actor's task raised: the node is fine, this chunk is not
        except errors.RayError as exc:
            results = self._chunk_failed(actor, ref, _describe(exc))
        jobs = next(j for r, j in actor.chunks if r == ref)
        actor.chunks = deque((r, j) for r, j in actor.chunks if r != ref)
        actor.finished(jobs, time.monotonic())
        self.ready.extend(results)
        answered = {index for index, _ in results}
        # never happens with a ProcessPoolExecutor; a lost item must still be answered
        for job in jobs:
            if job.index not in answered:
                self._give_up(job, f"{actor.name} returned no verdict for it")

    def _chunk_failed(self, actor: _Actor, ref: Any, why: str) -> list[tuple[int, Verdict]]:
        """``error`` verdicts for a chunk whose grading raised on a live node (kept: it serves the
        next chunks)."""
        jobs = next(j for r, j in actor.chunks if r == ref)
        message = f"{actor.name} could not grade this chunk: {why}"[:500]
        return [
            (job.index, _stamp_failure(job, Outcome.error("grader_failed", message), 0.0))
            for job in jobs
        ]

    def _node_failed(self, actor: _Actor, why: str) -> None:
        """``actor`` (or its node) is gone: every job it held is retried once elsewhere."""
        held = [job for _, jobs in actor.chunks for job in jobs]
        self.ex._drop(actor)
        self.ex.stats["nodes_lost"].append(f"{actor.name}: {why}")
        for job in held:
            self.failed_on.setdefault(job.index, []).append(actor.name)
            if len(self.failed_on[job.index]) >= MAX_TRIES or not self.ex._actors:
                self._give_up(job, why)
            else:
                self.ex.stats["retried"] += 1
                self.pending.appendleft(job)

    def _give_up(self, job: Job, why: str) -> None:
        nodes = ", ".join(self.failed_on.get(job.index, [])) or "none"
        message = f"the Ray node grading this item failed ({why}); nodes tried: {nodes}"[:500]
        outcome = Outcome.error("infrastructure_failure", message)
        self.ex.stats["infrastructure_failures"] += 1
        self.ready.append((job.index, _stamp_failure(job, outcome, 0.0)))

    def _no_actors_left(self) -> None:
        for job in self._next_jobs(math.inf):  # type: ignore[arg-type]
            self._give_up(job, "no live Ray node with CPUs is left")

    def _bound_s(self, actor: _Actor) -> float:
        """How long the oldest chunk of ``actor`` may run: its items' bounds, plus a grace."""
        size = len(actor.chunks[0][1])
        return self.ex.timeout_s * (math.ceil(size / actor.workers) + 1) + STALL_GRACE_S

    def _wait_s(self) -> float:
        now = time.monotonic()
        deadlines = [a.clock + self._bound_s(a) for a in self.ex._actors if a.chunks]
        return max(0.05, min(deadlines) - now) if deadlines else 0.05

    def _check_stalls(self) -> None:
        now = time.monotonic()
        for actor in list(self.ex._actors):
            if actor.chunks and now > actor.clock + self._bound_s(actor):
                self._node_failed(actor, f"no answer within {self._bound_s(actor):.0f} s")


def _describe(exc: BaseException) -> str:
    """``ErrorType: first line of the message`` (Ray's messages run to many lines)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
