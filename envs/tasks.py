"""Task sources: where an environment's prompts and references come from.

A task row has at least ``id``, ``prompt`` (text, or a list of chat messages) and ``reference``
(the verifier's reference object); ``solution`` (a completion that passes) and ``meta`` are
optional. Sources: a bundled set (``"bundled:math"``), any JSONL or Parquet file, a Hugging Face
``datasets.Dataset``, or a list of dicts. Column names are configurable with :class:`Columns`,
and a bad row raises :class:`~envs.errors.TaskSourceError` naming the source and row.

>>> tasks = load_tasks([{"q": "2+2?", "ref": {"answer": "4"}, "key": "t1"}],
...                    columns=Columns(id="key", prompt="q", reference="ref"))
>>> len(tasks), tasks[0].id, tasks[0].prompt
(1, 't1', '2+2?')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from .bundled import bundled_path
from .errors import TaskSourceError


@dataclass(frozen=True)
class Task:
    """One task: prompt, verifier reference, optional reference solution and metadata."""

    id: str
    """Unique id within its source."""
    prompt: str | tuple[Mapping[str, Any], ...]
    """User prompt text, or chat messages (OpenAI format) for multi-message prompts."""
    reference: Mapping[str, Any]
    """What the environment's verifier grades against."""
    solution: str | None = None
    """A completion known to pass (used by tests and benchmarks), if the source has one."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Anything else (difficulty, topic, generator...)."""

    def messages(self, system_prompt: str | None = None) -> list[dict[str, Any]]:
        """The prompt as fresh OpenAI chat messages, with ``system_prompt`` first when given."""
        head = [{"role": "system", "content": system_prompt}] if system_prompt else []
        if isinstance(self.prompt, str):
            return head + [{"role": "user", "content": self.prompt}]
        return head + [dict(message) for message in self.prompt]


@dataclass(frozen=True)
class Columns:
    """Which columns of a source hold each task field.

    >>> Columns(prompt="question").prompt
    'question'
    """

    id: str | None = "id"
    """Column with the task id; ``None`` numbers the rows (``"row-0"``, ...)."""
    prompt: str = "prompt"
    """Column with the prompt text or chat messages."""
    reference: str = "reference"
    """Column with the reference object (a JSON string is decoded)."""
    solution: str | None = "solution"
    """Column with a reference solution; optional in every row."""
    meta: str | None = "meta"
    """Column with a metadata object; optional in every row."""

    def __post_init__(self) -> None:
        for name in ("prompt", "reference"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise TaskSourceError(
                    f"Columns.{name} must name a column, got {getattr(self, name)!r}"
                )


@runtime_checkable
class TaskSource(Protocol):
    """What an environment needs: a name, a length and indexed :class:`Task` s."""

    name: str

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Task: ...


class TaskList:
    """An in-memory task source with an id index. Built by :func:`load_tasks`."""

    def __init__(self, tasks: Sequence[Task], name: str = "tasks") -> None:
        if not tasks:
            raise TaskSourceError(
                f"task source {name!r} is empty; an environment needs at least one task"
            )
        self.name = name
        self._tasks = tuple(tasks)
        self._by_id: dict[str, int] = {}
        for index, task in enumerate(self._tasks):
            if task.id in self._by_id:
                raise TaskSourceError(
                    f"{name}: row {index} repeats task id {task.id!r} "
                    f"(first seen in row {self._by_id[task.id]}); ids must be unique"
                )
            self._by_id[task.id] = index

    def __len__(self) -> int:
        return len(self._tasks)

    def __getitem__(self, index: int) -> Task:
        return self._tasks[index]

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks)

    def index_of(self, task_id: str) -> int:
        """Row index of ``task_id``; raises :class:`TaskSourceError` for an unknown id."""
        try:
            return self._by_id[task_id]
        except KeyError:
            raise TaskSourceError(f"{self.name}: no task with id {task_id!r}") from None

    def __repr__(self) -> str:
        return f"<TaskList {self.name!r} ({len(self)} tasks)>"


def load_tasks(source: Any, *, columns: Columns | None = None) -> TaskList:
    """Build a :class:`TaskList` from ``source``.

    ``source`` may be a :class:`TaskList`, ``"bundled:NAME"``, a path to a ``.jsonl``/``.json``
    (JSON Lines, or for ``.json`` also one JSON array of rows; UTF-8, a byte-order mark is skipped)
    or ``.parquet`` file, a Hugging Face ``datasets.Dataset``, or a sequence (or iterator) of dicts
    or Tasks.
    """
    columns = columns or Columns()
    if isinstance(source, TaskList):
        return source
    if isinstance(source, str) and source.startswith("bundled:"):
        return from_rows(_read_jsonl(bundled_path(source[len("bundled:") :])), columns, source)
    if isinstance(source, (str, Path)):
        return _load_file(Path(source), columns)
    if hasattr(source, "column_names") and hasattr(source, "__getitem__"):
        return from_rows(_hf_rows(source), columns, f"Dataset({len(source)} rows)")
    if isinstance(source, Iterator):  # a generator of rows
        source = list(source)
    if isinstance(source, (list, tuple)):
        if all(isinstance(item, Task) for item in source):
            return TaskList(source)
        return from_rows(source, columns, "rows")
    raise TaskSourceError(
        f"cannot read tasks from {type(source).__name__}; pass 'bundled:NAME', a .jsonl or "
        ".parquet path, a datasets.Dataset, or a list of dicts"
    )


def from_rows(rows: Iterable[Any], columns: Columns, name: str) -> TaskList:
    """Convert raw rows to tasks; the first bad row raises, naming ``name`` and the row number."""
    return TaskList(
        [row_to_task(row, index, columns, name) for index, row in enumerate(rows)], name
    )


def row_to_task(row: Any, index: int, columns: Columns, name: str) -> Task:
    """One row to a :class:`Task`; raises :class:`TaskSourceError` that names the row and the
    fix."""
    where = f"{name}: row {index}"
    if isinstance(row, TaskSourceError):
        raise row
    if not isinstance(row, Mapping):
        raise TaskSourceError(f"{where} is {type(row).__name__}, not an object")
    for column in (columns.prompt, columns.reference) + ((columns.id,) if columns.id else ()):
        if column not in row:
            raise TaskSourceError(
                f"{where} has no column {column!r} (columns: {', '.join(map(str, row))}); "
                "map your column names with envs.Columns(...)"
            )
    task_id = str(row[columns.id]) if columns.id else f"row-{index}"
    return Task(
        task_id,
        _prompt(row[columns.prompt], where),
        _reference(row[columns.reference], where),
        _solution(row, columns, where),
        _meta(row, columns, where),
    )


def _prompt(value: Any, where: str) -> str | tuple[Mapping[str, Any], ...]:
    if isinstance(value, str) and value:
        return value
    if (
        isinstance(value, (list, tuple))
        and value
        and all(
            isinstance(m, Mapping)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in value
        )
    ):
        return tuple(dict(m) for m in value)
    raise TaskSourceError(
        f"{where}: prompt must be non-empty text or a list of {{role, content}} messages, "
        f"got {type(value).__name__}"
    )


def _reference(value: Any, where: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise TaskSourceError(
                f"{where}: reference is a string but not valid JSON ({exc})"
            ) from None
    if not isinstance(value, Mapping):
        raise TaskSourceError(f"{where}: reference must be an object, got {type(value).__name__}")
    return value


def _solution(row: Mapping[str, Any], columns: Columns, where: str) -> str | None:
    value = row.get(columns.solution) if columns.solution else None
    if value is not None and not isinstance(value, str):
        raise TaskSourceError(f"{where}: solution must be text or null, got {type(value).__name__}")
    return value


def _meta(row: Mapping[str, Any], columns: Columns, where: str) -> Mapping[str, Any]:
    value = row.get(columns.meta) if columns.meta else None
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else None
    if value is not None and not isinstance(value, Mapping):
        raise TaskSourceError(
            f"{where}: meta must be an object or null, got {type(value).__name__}"
        )
    return value or {}


def _load_file(path: Path, columns: Columns) -> TaskList:
    if not path.is_file():
        raise TaskSourceError(f"task file {str(path)!r} does not exist")
    if path.suffix == ".json":
        array = _read_json_array(path)
        if array is not None:
            return from_rows(array, columns, str(path))
    if path.suffix in (".jsonl", ".json"):
        return from_rows(_read_jsonl(path), columns, str(path))
    if path.suffix == ".parquet":
        return from_rows(_read_parquet(path), columns, str(path))
    raise TaskSourceError(
        f"task file {str(path)!r}: unknown format {path.suffix!r}; use .jsonl or .parquet"
    )


def _read_json_array(path: Path) -> list[Any] | None:
    """The rows of a ``.json`` file holding one JSON array, or ``None`` (then it is read as JSON
    Lines)."""
    with open(path, encoding="utf-8-sig") as fh:
        head = fh.read(4096).lstrip()
        if not head.startswith("["):
            return None
        fh.seek(0)
        try:
            rows = json.load(fh)
        except json.JSONDecodeError as exc:
            raise TaskSourceError(f"{path}: not a valid JSON array of rows: {exc}") from None
    return rows if isinstance(rows, list) else None


def _read_jsonl(path: Path) -> Iterator[Any]:
    with open(path, encoding="utf-8-sig") as fh:  # -sig: a leading byte-order mark is skipped
        for number, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield TaskSourceError(
                    f"{path}: row {number} (line {number + 1}) is not valid JSON: {exc}"
                )


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    from verifiers.errors import require

    parquet = require("pyarrow.parquet", "parquet")
    return parquet.read_table(path).to_pylist()


def _hf_rows(dataset: Any) -> Iterator[Mapping[str, Any]]:
    for index in range(len(dataset)):
        yield dataset[index]
