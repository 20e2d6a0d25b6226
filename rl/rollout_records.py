"""Rollout group records: every group a run trained on, for audit and reuse (e.g. rejection-sampling
SFT).

One record per group: ``step`` (the policy step that sampled it), ``group``, ``seed``, ``prompt``,
``task_id``/``task_index``/``reference``/``messages`` (the task and its prompt as chat messages,
where the environment exposes them; ``None`` otherwise), ``model``,
``completions`` (text, token ids, sampler log-probs, loss mask, finish reason, reward, ``graded``,
advantage, verdicts with ``verifier`` and ``verifier_version``; a completion whose grading could not
run has ``graded: false`` and reward ``null``, never a silent 0), ``rewards``, ``sampling``
parameters and ``verifiers`` (the ``name@version`` specs that graded it). JSONL writes one line per
group; Parquet writes one file per step with the completions as a JSON column.

>>> rows = read_records("runs/grpo/rollouts.jsonl")  # doctest: +SKIP
>>> passing = [  # doctest: +SKIP
...     c["text"] for r in rows for c in r["completions"] if c["reward"] > 0
... ]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import RLError, require
from .metrics import finite_json

# keys in the order the trainer builds them (fixed by the code, so lines are stable without sorting)
_ENCODE = json.JSONEncoder(allow_nan=False).encode


def _encode(record: Any) -> str:
    """One strict-JSON line; a non-finite float (an engine's NaN log-prob) is written as null."""
    try:
        return _ENCODE(record)
    except ValueError:
        return _ENCODE(finite_json(record))


class RecordWriter:
    """Writes group records as ``jsonl`` (``<dir>/rollouts.jsonl``) or ``parquet``
    (``<dir>/rollouts/step-N.parquet``)."""

    def __init__(self, output_dir: str | Path, fmt: str = "jsonl") -> None:
        if fmt not in ("jsonl", "parquet"):
            raise RLError(f"record format {fmt!r}: choose 'jsonl' or 'parquet'")
        self.format = fmt
        self.dir = Path(output_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            require("pyarrow", "parquet")
        self.path = self.dir / "rollouts.jsonl" if fmt == "jsonl" else self.dir / "rollouts"
        self._file = self.path.open("a", encoding="utf-8") if fmt == "jsonl" else None

    def write(self, step: int, records: Sequence[Mapping[str, Any]]) -> None:
        """Append the records of one step (flushed before returning, so a crash loses no finished
        step)."""
        if self._file is not None:
            self._file.write("".join(_encode(r) + "\n" for r in records))
            self._file.flush()
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path.mkdir(exist_ok=True)
        cols = {k: [r[k] for r in records] for k in ("step", "group", "seed", "prompt")}
        cols["task_id"] = [None if r.get("task_id") is None else str(r["task_id"]) for r in records]
        cols["task_index"] = [r.get("task_index") for r in records]
        cols["model"] = [r.get("model") for r in records]
        cols["rewards"] = [list(r["rewards"]) for r in records]
        for key in ("completions", "sampling", "verifiers", "reference", "messages"):
            # strict JSON, as in the JSONL records
            cols[key] = [_encode(r.get(key)) for r in records]
        pq.write_table(pa.table(cols), self.path / f"step-{step:08d}.parquet")

    def close(self) -> None:
        """Close the JSONL file (safe to call twice)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read records back from a ``rollouts.jsonl`` file or a ``rollouts/`` Parquet directory."""
    path = Path(path)
    if path.is_file():
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for part in sorted(path.glob("step-*.parquet")):
        for row in pq.read_table(part).to_pylist():
            for key in ("completions", "sampling", "verifiers", "reference", "messages"):
                if key in row:  # absent from files written before these were recorded
                    row[key] = json.loads(row[key])
            rows.append(row)
    return rows


def passing_completions(
    records: Sequence[Mapping[str, Any]], min_reward: float = 1.0
) -> list[dict[str, Any]]:
    """Rejection-sampling SFT data from recorded groups:
    ``{"prompt", "completion", "reward", "step"}`` for every completion whose reward is at least
    ``min_reward``, deduplicated per prompt (ungraded ones, reward ``None``, are never taken).

    >>> group = {"prompt": "1=", "step": 0, "completions": [{"text": "2", "reward": 1.0}]}
    >>> passing_completions([group])
    [{'prompt': '1=', 'completion': '2', 'reward': 1.0, 'step': 0}]
    """
    seen: set[tuple[str, str]] = set()
    out = []
    for record in records:
        for comp in record["completions"]:
            key = (record["prompt"], comp["text"])
            reward = comp.get("reward")  # None: the completion could not be graded
            if reward is not None and reward >= min_reward and key not in seen:
                seen.add(key)
                out.append(
                    {
                        "prompt": record["prompt"],
                        "completion": comp["text"],
                        "reward": comp["reward"],
                        "step": record["step"],
                    }
                )
    return out
