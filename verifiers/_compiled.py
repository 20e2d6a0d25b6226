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

from collections import OrderedDict
from typing import Any, Callable


class CompiledCache:
    """LRU keyed by a schema's hash. ``failure`` exceptions carry ``code`` and ``message``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, Any] = OrderedDict()

    def get_or_compile(self, key: str, compile: Callable[[], Any], failure: type[Exception]) -> Any:
        cached = self._data.get(key)
        if cached is None:
            try:
                cached = compile()
            except failure as problem:
                cached = problem.with_traceback(None)
            self._data[key] = cached
            if len(self._data) > self.size:
                self._data.popitem(last=False)
        else:
            self._data.move_to_end(key)
        if isinstance(cached, failure):
            raise type(cached)(cached.code, cached.message)  # a fresh one: re-raising grows its traceback
        return cached

    def __len__(self) -> int:
        return len(self._data)

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size, "_data": OrderedDict()}  # compiled objects do not pickle
