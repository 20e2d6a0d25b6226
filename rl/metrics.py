"""Per-step metrics to JSONL (always) and TensorBoard (when enabled).

>>> with MetricsLogger("/tmp/run", tensorboard=False) as log:   # doctest: +SKIP
...     log.log(0, {"reward_mean": 0.5})
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

from .errors import require


class MetricsLogger:
    """Appends one JSON object per step to ``<dir>/metrics.jsonl``; mirrors numbers to TensorBoard."""

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
        row = {"step": step, **{k: _jsonable(v) for k, v in metrics.items()}}
        self._file.write(json.dumps(row, sort_keys=True) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                    self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> "MetricsLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a ``metrics.jsonl`` file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
