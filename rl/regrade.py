"""Readers and writers for ``rlvr regrade``: verdict files, eval outputs and rollout records.

Three kinds of input, told apart by their first JSON line (or by being a directory):

``grade``
    ``rlvr grade`` output, ``{"id", "verdict"}`` per line. Its response and reference come
    from the line itself when it carries them, else from the grading input file
    (``inputs=``), joined by position when the ids agree there (``rlvr grade`` keeps
    order) and otherwise by ``id``.
``eval``
    ``rlvr eval --out`` lines (``task_id``, ``sample``, ``completion``, ``verdict``,
    ``reference``...).
``records``
    trainer rollout records (``rollouts.jsonl``, a ``rollouts/`` Parquet directory, or the
    run directory holding either): one item per completion.

Each input unit becomes an :class:`Entry`: the :class:`~verifiers.regrade.RegradeItem` to
re-grade and the output line to write with its new verdict under ``"regraded"``. For
``grade`` and ``eval`` that line is the input line unchanged; for ``records`` it is
``{step, group, sample, task_id, old_verdict}``. N in = N out: a malformed line, a missing
reference or a multi-turn completion becomes an entry that says why it cannot be re-graded.

>>> entries = entries_from_objects("eval", [{"task_id": "t1", "sample": 0, "completion": "4",
...                                          "verdict": None, "reference": {"answer": "4"}}])
>>> entries[0].item.reference, entries[0].item.skip_reason
({'answer': '4'}, None)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifiers.base import safe_hash
from verifiers.cli import parse_line
from verifiers.hashing import json_line, stable_hash
from verifiers.jsonl import BadLine, decode_line, open_jsonl
from verifiers.regrade import RegradeItem
from verifiers.verdict import Verdict

from .errors import RLError

FORMATS = ("grade", "eval", "records")

#: Output fields of a ``records`` line, before ``regraded``.
RECORD_FIELDS = ("step", "group", "sample", "task_id", "old_verdict")


class RegradeInputError(RLError, ValueError):
    """The input to re-grade cannot be read as any of :data:`FORMATS`; the message says the fix."""


@dataclass(frozen=True)
class Entry:
    """One unit to re-grade and the output line (without ``"regraded"``) to write its verdict
    into."""

    item: RegradeItem
    line: Mapping[str, Any]


Parsed = dict[str, Any] | str
"""One input line: the JSON object, or a message saying why it is not one."""


# --- reading -------------------------------------------------------------------------------------


def read_entries(
    path: str | Path, *, fmt: str | None = None, inputs: str | Path | None = None, tasks: Any = None
) -> tuple[str, list[Entry]]:
    """Read ``path`` as ``fmt`` (detected when ``None``) into entries; returns
    ``(format, entries)``.

    ``inputs`` is the grading input file of a ``grade`` file; ``tasks`` a task source
    (:func:`envs.tasks.load_tasks`) whose references fill in lines and records that lack one.
    """
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise RegradeInputError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if inputs is not None and fmt != "grade":
        raise RegradeInputError(
            f"--inputs joins responses to `rlvr grade` verdicts, but {path} holds {fmt} lines; "
            "leave --inputs out (use --tasks to supply missing references)"
        )
    references = task_references(tasks) if tasks is not None else None
    join = GradeInputs.read(inputs) if inputs is not None else None
    if fmt == "records":
        return fmt, list(record_entries(_records(path), references))
    objects = [obj for _, obj in _parsed_lines(Path(path))]
    return fmt, entries_from_objects(fmt, objects, inputs=join, references=references)


def entries_from_objects(
    fmt: str,
    objects: Iterable[Parsed],
    *,
    inputs: "GradeInputs | None" = None,
    references: Mapping[str, Any] | None = None,
) -> list[Entry]:
    """Entries from already-parsed lines of a ``grade`` or ``eval`` file (see the module doc)."""
    if fmt == "grade":
        return [_grade_entry(n, obj, inputs) for n, obj in enumerate(objects, 1)]
    if fmt == "eval":
        return [_eval_entry(n, obj, references) for n, obj in enumerate(objects, 1)]
    return list(record_entries(enumerate(objects, 1), references))


def detect_format(path: str | Path) -> str:
    """``records`` for a directory, else what the first JSON object line looks like."""
    path = Path(path)
    if path.is_dir():
        return "records"
    for n, obj in _parsed_lines(path):
        if isinstance(obj, str):
            continue
        if "completions" in obj:
            return "records"
        if "completion" in obj:
            return "eval"
        if "verdict" in obj or "response" in obj:
            return "grade"
        raise RegradeInputError(
            f"cannot tell what {path} holds from line {n} (keys: {', '.join(sorted(obj)[:12])}); "
            f"pass --format {'|'.join(FORMATS)}"
        )
    raise RegradeInputError(f"{path} has no JSON object line to re-grade")


def task_references(source: Any) -> dict[str, Any]:
    """``task id -> reference`` of a task source (a JSONL/Parquet path or ``"bundled:NAME"``)."""
    from envs.tasks import load_tasks

    return {str(task.id): task.reference for task in load_tasks(source)}


def _parsed_lines(path: Path) -> Iterator[tuple[int, Parsed]]:
    """``(line number, object or problem)`` for every line, read as ``rlvr grade`` reads its
    input."""
    with open_jsonl(path) as fh:
        for n, line in enumerate(fh, 1):
            obj = decode_line(line)
            yield n, f"line {n}: {obj.describe()}" if isinstance(obj, BadLine) else obj


# --- rlvr grade output ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeInputs:
    """The grading input file of a verdict file, for joining verdict lines to their response and
    reference."""

    path: str
    rows: tuple[tuple[Any, Any], ...]
    """``(id, GradeItem or error Verdict)`` per line, as :func:`verifiers.cli.parse_line` reads
    it."""
    by_id: Mapping[str, tuple[int, ...]]

    @classmethod
    def read(cls, path: str | Path) -> "GradeInputs":
        with open_jsonl(path) as fh:
            # the verifier is not used
            rows = tuple(parse_line(line, n, "any") for n, line in enumerate(fh, 1))
        by_id: dict[str, list[int]] = {}
        for position, (rid, _) in enumerate(rows):
            if rid is not None:
                by_id.setdefault(_id_key(rid), []).append(position)
        return cls(str(path), rows, {k: tuple(v) for k, v in by_id.items()})

    def item(self, position: int, rid: Any, old: Any, n: int) -> RegradeItem:
        """The item for verdict line ``n`` (0-based ``position``) with id ``rid``."""
        found = self._find(position, rid)
        if isinstance(found, tuple):
            return RegradeItem.skip(rid, found[0], f"line {n}: {found[1]}", old=old)
        entry = self.rows[found][1]
        if isinstance(entry, Verdict):  # the input line itself was malformed
            message = entry.failure_reason.message if entry.failure_reason else "malformed"
            return RegradeItem.skip(
                rid, "bad_input_line", f"line {n}: --inputs {self.path} {message}", old=old
            )
        if not _same_response(old, entry.response):
            return RegradeItem.skip(
                rid,
                "input_mismatch",
                f"line {n}: the response on line {found + 1} of --inputs "
                f"{self.path} does not match the verdict's input_hash; pass the file that was "
                "graded",
                old=old,
                response=entry.response,
            )
        return RegradeItem(rid, entry.response, entry.reference, old)

    def _find(self, position: int, rid: Any) -> int | tuple[str, str]:
        """The row index joined to a verdict line, or ``(reason code, message)`` saying why there is
        none."""
        if position < len(self.rows) and _id_key(self.rows[position][0]) == _id_key(rid):
            return position  # `rlvr grade` writes its output in input order
        if rid is None:
            where = "has another id" if position < len(self.rows) else "does not exist"
            return (
                "id_not_in_inputs",
                f"no id, and line {position + 1} of --inputs {self.path} {where}",
            )
        matches = self.by_id.get(_id_key(rid), ())
        if len(matches) == 1:
            return matches[0]
        if matches:
            return "ambiguous_id", (
                f"id {rid!r} appears {len(matches)} times in --inputs {self.path} "
                f"(lines {matches[0] + 1}, {matches[1] + 1}...)"
            )
        return "id_not_in_inputs", f"id {rid!r} is not in --inputs {self.path}"


def _same_response(old: Any, response: Any) -> bool:
    """False when the old verdict's ``input_hash`` shows it graded another response (a
    wrong --inputs file)."""
    recorded = old.get("input_hash") if isinstance(old, Mapping) else None
    if not isinstance(recorded, str) or not recorded.startswith("sha256:"):
        return True
    return recorded == safe_hash(
        stable_hash, response if isinstance(response, str) else repr(response)
    )


def _id_key(rid: Any) -> str:
    return json.dumps(rid, sort_keys=True, default=repr)


def _grade_entry(n: int, obj: Parsed, inputs: GradeInputs | None) -> Entry:
    if isinstance(obj, str):
        return Entry(RegradeItem.skip(None, "bad_line", obj), {"id": None, "line": n})
    rid, old = obj.get("id"), obj.get("verdict")
    if "response" in obj and "reference" in obj:
        return Entry(RegradeItem(rid, obj["response"], obj["reference"], old), obj)
    if inputs is None:
        message = (
            f"line {n}: id {rid!r} has a verdict but no response and reference; "
            "pass the file that was graded with --inputs"
        )
        return Entry(RegradeItem.skip(rid, "no_inputs", message, old=old), obj)
    return Entry(inputs.item(n - 1, rid, old, n), obj)


# --- rlvr eval output ----------------------------------------------------------------------------


def _eval_entry(n: int, obj: Parsed, references: Mapping[str, Any] | None) -> Entry:
    if isinstance(obj, str):
        return Entry(RegradeItem.skip(None, "bad_line", obj), {"line": n})
    item_id = f"task={obj.get('task_id')} sample={obj.get('sample')}"
    item = _completion_item(
        item_id,
        obj.get("completion"),
        obj.get("verdict"),
        obj.get("verdicts"),
        obj.get("reference"),
        obj.get("task_id"),
        references,
        f"line {n}",
    )
    return Entry(item, obj)


def _completion_item(
    item_id: str,
    text: Any,
    old: Any,
    turns: Any,
    reference: Any,
    task_id: Any,
    references: Mapping[str, Any] | None,
    where: str,
) -> RegradeItem:
    """One graded completion (of an eval line or a record) as an item, or why it cannot be
    re-graded."""
    if isinstance(turns, list) and len(turns) > 1:
        return RegradeItem.skip(
            item_id,
            "multi_turn",
            f"{where}: graded turn by turn ({len(turns)} verdicts) against "
            "the environment's state; a multi-turn episode cannot be re-graded from its record "
            "alone (re-run it, e.g. with rlvr eval)",
            old=old,
            response=text,
        )
    if not isinstance(text, str):
        return RegradeItem.skip(
            item_id, "no_response", f"{where}: no completion text to re-grade", old=old
        )
    if reference is None:
        reference = _lookup(task_id, references)
        if isinstance(reference, str):
            return RegradeItem.skip(
                item_id, "no_reference", f"{where}: {reference}", old=old, response=text
            )
    return RegradeItem(item_id, text, reference, old)


def _lookup(task_id: Any, references: Mapping[str, Any] | None) -> Any:
    """The reference of ``task_id`` from ``--tasks``, or a message saying why there is none."""
    if references is None:
        return "no reference recorded; pass the task source with --tasks to look it up by task_id"
    if task_id is None:
        return "no reference and no task_id to look one up in --tasks"
    found = references.get(str(task_id))
    return f"task_id {task_id!r} is not in --tasks" if found is None else found


# --- trainer rollout records ---------------------------------------------------------------------


def record_entries(
    records: Iterable[tuple[Any, Parsed]], references: Mapping[str, Any] | None
) -> Iterator[Entry]:
    """One entry per completion of each ``(where, record)``; a malformed record gives one entry
    saying why."""
    for where, record in records:
        comps = record.get("completions") if isinstance(record, dict) else None
        if not isinstance(comps, list):
            why = record if isinstance(record, str) else f"record {where}: no 'completions' list"
            yield Entry(
                RegradeItem.skip(None, "bad_line", why),
                {**dict.fromkeys(RECORD_FIELDS), "line": where},
            )
            continue
        for k, comp in enumerate(comps):
            yield _record_entry(record, k, comp, references)


def _record_entry(
    record: dict[str, Any], k: int, comp: Any, references: Mapping[str, Any] | None
) -> Entry:
    step, group, task_id = record.get("step"), record.get("group"), record.get("task_id")
    comp = comp if isinstance(comp, dict) else {}
    turns = comp.get("verdicts") if isinstance(comp.get("verdicts"), list) else []
    old = turns[-1] if turns else None
    item_id = f"step={step} group={group} sample={k} task={task_id}"
    item = _completion_item(
        item_id,
        comp.get("text"),
        old,
        turns,
        record.get("reference"),
        task_id,
        references,
        f"step {step} group {group} sample {k}",
    )
    return Entry(
        item, {"step": step, "group": group, "sample": k, "task_id": task_id, "old_verdict": old}
    )


def records_path(path: str | Path) -> Path:
    """The records of ``path``: a ``rollouts.jsonl`` file, a Parquet directory, or a run directory
    holding one."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "rollouts.jsonl", path / "rollouts"):
            if candidate.exists():
                return candidate
        if not any(path.glob("step-*.parquet")):
            raise RegradeInputError(
                f"{path} holds no rollout records (rollouts.jsonl, rollouts/ or step-*.parquet)"
            )
    return path


def _records(path: str | Path) -> Iterator[tuple[Any, Parsed]]:
    path = records_path(path)
    if path.is_file():
        yield from _parsed_lines(path)
        return
    from .rollout_records import read_records

    yield from ((f"{path} row {n}", row) for n, row in enumerate(read_records(path)))


# --- writing -------------------------------------------------------------------------------------


def write_entries(path: str | Path, entries: Iterable[Entry], verdicts: Iterable[Verdict]) -> int:
    """Write each entry's line with its new verdict under ``"regraded"``; returns the lines
    written."""
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        for entry, verdict in zip(entries, verdicts, strict=True):
            fh.write(json_line({**entry.line, "regraded": verdict.to_dict()}))
            written += 1
    return written
