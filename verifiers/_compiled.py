"""A small LRU of compiled schemas shared by the schema verifiers.

Compile failures are remembered too (a bad schema is compiled once, then re-raised fresh), and
the cache pickles empty, so a verifier instance that has graded can still go to worker processes.

>>> cache = CompiledCache(2)
>>> cache.get_or_compile("k", lambda: 42, ValueError)
42
>>> import pickle; len(pickle.loads(pickle.dumps(cache)))
0
"""

from __future__ import annotations

from typing import Any, Callable

from ._lru import LRU


class CompiledCache:
    """LRU keyed by a schema's hash. ``failure`` exceptions carry ``code`` and ``message``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data = LRU(size)  # pickles empty: compiled objects do not pickle

    def get_or_compile(self, key: str, compile: Callable[[], Any], failure: type[Exception]) -> Any:
        cached = self._data.get(key)
        if cached is None:
            try:
                cached = compile()
            except failure as problem:
                cached = problem.with_traceback(None)
            self._data.put(key, cached)
        if isinstance(cached, failure):
            # a fresh one: re-raising grows its traceback
            raise type(cached)(cached.code, cached.message)
        return cached

    def __len__(self) -> int:
        return len(self._data)
