"""Batch grading: many items, worker processes, a time bound per item, order kept.

N items in, N verdicts out, in input order, whatever happens to any single item.

>>> from verifiers import GradeItem, grade_batch
>>> items = [GradeItem('{"a": 1}', {"schema": {"type": "object"}}, "json_schema@1"),
...          GradeItem('not json', {"schema": {"type": "object"}}, "json_schema@1")]
>>> [v.status.value for v in grade_batch(items, workers=1)]
['pass', 'unparseable']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

from . import registry
from .base import Verifier, error_verdict, safe_hash
from .cache import CacheKey, VerdictCache
from .executor import Executor, InlineExecutor, Job, ProcessPoolExecutor
from .grade_item import GradeItem, VerifierRef
from .hashing import stable_hash
from .verdict import Verdict

DEFAULT_TIMEOUT_S = 30.0


def grade(
    response: str,
    reference: Mapping[str, Any],
    verifier: VerifierRef,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Verdict:
    """Grade one response in a killable worker process, bounded by ``timeout_s``.

    >>> grade('{"a": 1}', {"schema": {"type": "object"}}, "json_schema").status.value
    'pass'
    """
    item = GradeItem(response, reference, verifier)
    return grade_batch([item], workers=1, timeout_s=timeout_s)[0]


def grade_batch(
    items: Iterable[GradeItem],
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    executor: Executor | None = None,
    cache: VerdictCache | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Verdict]:
    """Grade every item and return the verdicts in input order (see :func:`grade_iter`)."""
    return list(
        grade_iter(
            items,
            workers=workers,
            timeout_s=timeout_s,
            executor=executor,
            cache=cache,
            progress=progress,
        )
    )


def grade_iter(
    items: Iterable[GradeItem],
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    executor: Executor | None = None,
    cache: VerdictCache | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Verdict]:
    """Yield one verdict per item, in input order, as soon as each is ready.

    Args:
        items: :class:`GradeItem` s; ``verifier`` is a spec such as ``"math@1"`` or an instance.
        workers: worker processes for the default executor (``0`` grades in-process, unbounded).
        timeout_s: per-item wall-clock bound for the default executor.
        executor: an :class:`~verifiers.executor.Executor` to use instead (it is not closed).
        cache: optional :class:`~verifiers.cache.VerdictCache`.
        progress: called with the number of items finished since the last call.
    """
    own = executor is None
    if own:
        executor = (
            InlineExecutor() if workers == 0 else ProcessPoolExecutor(workers, timeout_s=timeout_s)
        )
    try:
        yield from _ordered(executor, items, cache, progress)
    finally:
        if own:
            executor.close()


def _ordered(
    executor: Executor,
    items: Iterable[GradeItem],
    cache: VerdictCache | None,
    progress: Callable[[int], None] | None,
) -> Iterator[Verdict]:
    ready: dict[int, Verdict] = {}
    keys: dict[int, CacheKey] = {}
    next_out = 0

    def jobs() -> Iterator[Job]:
        for index, item in enumerate(items):
            verdict, key = _precheck(item, cache)
            if verdict is not None:
                ready[index] = verdict
                continue
            if key is not None:
                keys[index] = key
            # the id stays here: a worker never needs it, so it need not survive pickling
            yield Job(index, item if item.id is None else replace(item, id=None))

    for index, verdict in executor.map(jobs()):
        key = keys.pop(index, None)
        if cache is not None and key is not None:
            cache.put(key, verdict)
        ready[index] = verdict
        while next_out in ready:
            if progress is not None:
                progress(1)
            yield ready.pop(next_out)
            next_out += 1
    for index in sorted(ready):  # items answered before dispatch, after the last job finished
        if progress is not None:
            progress(1)
        yield ready.pop(index)


def _precheck(item: object, cache: VerdictCache | None) -> tuple[Verdict | None, CacheKey | None]:
    """Resolve the verifier early; answer bad items and cache hits without a worker."""
    if not isinstance(item, GradeItem):
        return error_verdict("bad_item", f"expected GradeItem, got {type(item).__name__}"), None
    if not isinstance(item.verifier, str):
        verifier = item.verifier
        problem = _not_a_verifier(verifier)
        if problem:
            return error_verdict(
                "bad_verifier",
                problem,
                verifier=str(getattr(verifier, "name", "") or ""),
                response=item.response,
                reference=item.reference,
            ), None
    else:
        try:
            verifier = registry.get(item.verifier)
        except Exception as exc:
            return error_verdict(
                "unknown_verifier",
                str(exc),
                verifier=item.verifier,
                response=item.response,
                reference=item.reference,
            ), None
    if cache is None:
        return None, None
    key = (
        _cache_spec(verifier),
        safe_hash(verifier.test_case_hash, item.reference),
        safe_hash(stable_hash, item.response),
    )
    return cache.get(key), key


def _not_a_verifier(obj: object) -> str:
    """Why ``obj`` cannot grade an item ("" when it can): a spec string or a verifier *instance* is
    needed."""
    if isinstance(obj, type):
        return (
            f"got the class {obj.__name__}, not an instance: pass {obj.__name__}() "
            "or a spec string such as 'name@1'"
        )
    missing = [
        attr for attr in ("name", "version", "verify", "test_case_hash") if not hasattr(obj, attr)
    ]
    if missing:
        return (
            f"{type(obj).__name__} is not a verifier (no {', '.join(missing)}); "
            "pass a spec string such as 'json_schema@1' or a verifier instance"
        )
    return ""


def _cache_spec(verifier: Verifier) -> str:
    """``name@version`` for the cache key, plus a hash of the instance's settings when they differ
    from the registered default's (``JsonSchemaVerifier(JsonSchemaConfig(max_depth=2))`` must not
    share cached verdicts with ``"json_schema@1"``)."""
    spec = f"{verifier.name}@{verifier.version}"
    state = _settings(verifier)
    if not state:
        return spec
    try:
        if _settings(registry.get(spec)) == state:
            return spec
    except Exception:  # not registered, or settings that cannot be compared
        pass
    return f"{spec}#{stable_hash(state)}"


def _settings(verifier: Verifier) -> dict[str, Any]:
    """The public attributes of a verifier instance (its configuration; caches are private)."""
    return {k: v for k, v in getattr(verifier, "__dict__", {}).items() if not k.startswith("_")}
