"""Per-step metrics to JSONL (always) and TensorBoard (when enabled).

>>> with MetricsLogger("/tmp/run", tensorboard=False) as log:   # doctest: +SKIP
...     log.log(0, {"reward_mean": 0.5})
"""

from __future__ import annotations

import json
import math
import statistics
from collections import deque
from pathlib import Path
from typing import Any, Mapping

from .errors import require


class MetricsLogger:
    """Appends one JSON object per step to ``<dir>/metrics.jsonl``; mirrors numbers to
    TensorBoard."""

    def __init__(self, output_dir: str | Path, tensorboard: bool = True) -> None:
        self.dir = Path(output_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "metrics.jsonl"
        self._file = self.path.open("a")
        self._tb = None
        if tensorboard:
            require("tensorboard", "torch")
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.dir / "tensorboard"))

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Write ``metrics`` for ``step`` (non-finite floats become null in JSON)."""
        row = finite_json({"step": step, **metrics})
        self._file.write(json.dumps(row, sort_keys=True) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in metrics.items():
                if (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                ):
                    self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> "MetricsLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class GapWatch:
    """Flags a sampler/trainer log-prob gap that jumps far above its own recent level.

    After a weight sync the engine samples from the policy being trained, so the mean per-token
    gap stays at its usual level (about 0 for an engine on the policy itself, bf16 noise for vLLM).
    A jump to ``factor`` times the median of the last ``window`` steps (and above ``floor``) means
    the engine is generating with stale weights.

    >>> watch = GapWatch(warmup=2)
    >>> [watch.update(g) for g in (0.01, 0.012, 0.011, 0.5)]
    [False, False, False, True]
    """

    def __init__(
        self, factor: float = 10.0, floor: float = 1e-3, warmup: int = 3, window: int = 50
    ) -> None:
        self.factor, self.floor, self.warmup = factor, floor, warmup
        self.history: deque[float] = deque(maxlen=window)
        self.level: float | None = None
        """The recent median the last :meth:`update` compared against (None during warm-up)."""

    def update(self, gap: float) -> bool:
        """Record this step's gap; True when it is a jump."""
        self.level = statistics.median(self.history) if len(self.history) >= self.warmup else None
        self.history.append(gap)
        return self.level is not None and gap > self.floor and gap > self.factor * self.level


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a ``metrics.jsonl`` file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth) replaced by None, so it encodes as
    strict JSON.

    >>> finite_json({"a": float("nan"), "b": [1.5, float("inf")]})
    {'a': None, 'b': [1.5, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value
