"""The import driver: PRM800K, Math-Shepherd and ProcessBench files, batched, resumable, idempotent.

An import parses every line once, and stops at the first malformed one with an
:class:`~rl.prm.errors.ImportFormatError` naming the file and line before anything is written
(no partial import is left behind): the validation pass spools the rows it built (marshal, in an
unlinked temporary file), and once the whole file has passed, the write pass replays them in
batches of lines, each batch in one transaction together with its row in ``imports`` (source
sha256, batch number, last line).
A process killed mid-import keeps every committed batch; running the same import again resumes
after the last committed line, and re-importing a finished file adds nothing. A file is JSON lines,
or one JSON array of the same records (as ProcessBench ships), whose records then count as lines.

>>> import tempfile, os, json
>>> from rl.prm.store import PrmStore
>>> d = tempfile.mkdtemp(); path = os.path.join(d, "ms.jsonl")
>>> row = {"input": "What is 1+1? Step 1: 1+1=2. ки\\nStep 2: The answer is: 2 ки",
...        "label": "What is 1+1? Step 1: 1+1=2. +\\nStep 2: The answer is: 2 +"}
>>> _ = open(path, "w").write(json.dumps(row) + "\\n")
>>> report = import_file(PrmStore(os.path.join(d, "p.db")), path, "math_shepherd")
>>> report.steps, report.events
(2, 2)

Formats (one module each, see there how a record maps): ``prm800k`` (:mod:`rl.prm.prm800k`),
``math_shepherd`` (:mod:`rl.prm.math_shepherd`) and ``processbench`` (:mod:`rl.prm.processbench`),
registered in :data:`PARSERS`; what a parser is given is in :mod:`rl.prm.parsing`, and the rows it
builds are written by :mod:`rl.prm.bulk`.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .bulk import BatchItem, BatchMark, new_item, write_batch
from .errors import ImportFormatError, PrmError
from .math_shepherd import parse_math_shepherd
from .parsing import ImportOptions, LineContext, Parser
from .prm800k import parse_prm800k
from .processbench import PROCESSBENCH_VERIFIER as PROCESSBENCH_VERIFIER  # re-exported
from .processbench import parse_processbench
from .spool import Spool, run_forked, split_lines
from .store import PrmStore

#: Importer name -> record parser.
PARSERS: dict[str, Parser] = {
    "prm800k": parse_prm800k,
    "math_shepherd": parse_math_shepherd,
    "processbench": parse_processbench,
}


@dataclass
class ImportReport:
    """What an import did."""

    source_hash: str = ""
    """sha256 of the file."""
    lines: int = 0
    """Non-blank lines in the file (records, for a JSON array)."""
    resumed_after_line: int = 0
    """Lines (records, for a JSON array) already committed by an earlier run (skipped)."""
    batches_committed: int = 0
    """Batches written by this run."""
    trajectories: int = 0
    """Trajectories (incl. alternatives) in the batches written by this run."""
    steps: int = 0
    """Steps in the batches written by this run."""
    events: int = 0
    """Label events in the batches written by this run (before dedupe)."""
    extra: dict = field(default_factory=dict)
    """Free-form notes."""


def import_file(
    store: PrmStore,
    path: str | Path,
    format: str = "prm800k",
    *,
    options: ImportOptions | None = None,
    batch_lines: int = 2000,
    validate_first: bool = True,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    on_batch: Callable[[BatchMark], None] | None = None,
) -> ImportReport:
    """Import ``path`` in ``format`` (``prm800k``, ``math_shepherd`` or ``processbench``); see the
    module docstring.

    The file holds JSON lines, or one JSON array of the same records (ProcessBench's release shape;
    read whole, so meant for files of some MB): record N of an array is "line" N of the import's
    bookkeeping (resume, ``imports``), an error names the file line where the record starts and
    its position, and the array is parsed in this process (``workers`` does not apply).

    The validation pass parses each line once and spools the rows it built, so the write pass
    does not parse again; ``validate_first=False`` writes while parsing instead (about a tenth
    faster, it saves the spool): a malformed line then still names its line and leaves no
    partial *batch*, but the batches before it stay committed (fix the line and run the import
    again to resume).
    ``workers > 1`` validates (parses) line-aligned parts of a file of at least 8 MiB per part in
    that many forked processes side by side; it shortens the wall time when cores are free, not
    the CPU time (the write pass stays one transaction at a time in this process).
    ``progress`` is called with the number of lines finished (validation and writing each count
    once; a part validated in another process counts when that process is done); ``on_batch``
    after each committed batch.
    """
    if format not in PARSERS:
        raise PrmError(f"unknown import format {format!r}; choose one of {sorted(PARSERS)}")
    if batch_lines < 1:
        raise PrmError(f"batch_lines must be >= 1, got {batch_lines}")
    if workers < 1:
        raise PrmError(f"workers must be >= 1, got {workers}")
    options = options or ImportOptions()
    path = Path(path)
    with _gc_paused():
        return _import(
            store, path, format, options, batch_lines, validate_first, workers, progress, on_batch
        )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during an import: the import creates millions of small
    acyclic tuples, and the collector's passes over them cost ~6% of its time. Re-enabled after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import(
    store: PrmStore,
    path: Path,
    format: str,
    options: ImportOptions,
    batch_lines: int,
    validate_first: bool,
    workers: int,
    progress: Callable[[int], None] | None,
    on_batch: Callable[[BatchMark], None] | None,
) -> ImportReport:
    source_hash = file_hash(path)
    report = ImportReport(source_hash=source_hash)
    array = is_json_array(path)
    lines: Iterable[tuple[int, list[BatchItem]]]
    if validate_first:
        # One parse: the validation pass builds the rows of the lines still to import and spools
        # them (marshal, to an unlinked temporary file), and the write pass replays the spool
        # once the whole file has validated; nothing is written before that.
        built_after = _committed(store, source_hash)[0]
        parts = [(0, None, 1)] if array else split_lines(path, workers)
        calls = [
            (path, format, source_hash, options, built_after, part, array, Spool())
            for part in parts
        ]
        if len(calls) == 1:
            report.lines = _spool_part(*calls[0], progress=progress)
        else:
            for count, error in run_forked(_spool_part_forked, calls):
                if error is not None:  # the first part with an error holds the first bad line
                    raise ImportFormatError(str(path), *error)
                report.lines += count
                if progress is not None:
                    progress(count)
        done = _committed(store, source_hash)
        lines = itertools.chain.from_iterable(call[-1].replay(progress) for call in calls)
    else:
        done = _committed(store, source_hash)
        lines = _parsed_lines(
            path, format, source_hash, options, progress, skip_to=done[0], array=array
        )
    report.resumed_after_line = done[0]
    with store.bulk_load():
        _write(
            store,
            lines,
            done,
            _Batching(path.name, format, source_hash, batch_lines),
            report,
            on_batch,
            count_lines=not validate_first,
        )
    return report


def _spool_part(
    path: Path,
    format: str,
    source_hash: str,
    options: ImportOptions,
    built_after: int,
    part: tuple[int, int | None, int],
    array: bool,
    spool: Spool,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Parse and check the lines of ``part`` (raising on the first malformed one) and spool the
    items of the lines after ``built_after``; returns the number of lines."""
    count = 0
    for line_no, items in _parsed_lines(
        path,
        format,
        source_hash,
        options,
        progress,
        build_after=built_after,
        part=part,
        array=array,
    ):
        count += 1
        if line_no > built_after:
            spool.add(line_no, items)
    spool.flush()
    return count


def _spool_part_forked(*args: Any) -> tuple[int, tuple[int, str] | None]:
    """:func:`_spool_part` in a worker process: a malformed line comes back as ``(line, message)``
    (an ImportFormatError does not survive pickling); the spool's file is shared with the parent."""
    try:
        return _spool_part(*args), None
    except ImportFormatError as exc:
        return 0, (exc.line, str(exc).removeprefix(f"{exc.source}:{exc.line}: "))


@dataclass(frozen=True)
class _Batching:
    """How the write pass cuts and marks batches (see :class:`BatchMark`)."""

    source_name: str
    format: str
    source_hash: str
    batch_lines: int


def _write(
    store: PrmStore,
    lines: Iterable[tuple[int, list[BatchItem]]],
    done: tuple[int, int],
    how: _Batching,
    report: ImportReport,
    on_batch: Callable[[BatchMark], None] | None,
    count_lines: bool,
) -> None:
    """Commit ``lines`` after ``done`` (last line, last batch number) in batches of
    ``batch_lines``."""
    batch: list[BatchItem] = []
    first = last = None
    batch_no = done[1] + 1
    for line_no, items in lines:
        if line_no <= done[0]:  # committed meanwhile by a concurrent import of the same file
            continue
        report.lines += count_lines
        first, last = first or line_no, line_no
        offset = len(batch)
        if len(items) == 1 and items[0].parent is None:  # most lines: one trajectory, no branches
            batch.append(items[0])
        else:
            batch.extend(
                # new_item: dataclasses.replace without re-running the frozen __init__
                i if i.parent is None else new_item(vars(i), parent=i.parent + offset)
                for i in items
            )
        if line_no - first + 1 >= how.batch_lines:
            mark = BatchMark(how.source_hash, how.source_name, how.format, batch_no, first, line_no)
            _commit(store, batch, mark, report, on_batch)
            batch, first, batch_no = [], None, batch_no + 1
    if first is not None:
        _commit(
            store,
            batch,
            BatchMark(how.source_hash, how.source_name, how.format, batch_no, first, last),
            report,
            on_batch,
        )


def _committed(store: PrmStore, source_hash: str) -> tuple[int, int]:
    """(last committed line, last batch number) of earlier imports of this file: (0, -1) if none."""
    return store.read(
        "SELECT coalesce(max(last_line), 0), coalesce(max(batch_no), -1) FROM imports "
        "WHERE source_hash = ?",
        (source_hash,),
    )[0]


def _commit(
    store: PrmStore,
    batch: list[BatchItem],
    mark: BatchMark,
    report: ImportReport,
    on_batch: Callable[[BatchMark], None] | None,
) -> None:
    if write_batch(store, batch, mark):
        report.batches_committed += 1
        report.trajectories += len(batch)
        report.steps += sum(len(i.spans) for i in batch)
        report.events += sum(i.event_count() for i in batch)
        if on_batch is not None:
            on_batch(mark)


def file_hash(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _parsed_lines(
    path: Path,
    format: str,
    source_hash: str,
    options: ImportOptions,
    progress: Callable[[int], None] | None,
    skip_to: int = 0,
    build_after: int = 0,
    part: tuple[int, int | None, int] = (0, None, 1),
    array: bool = False,
) -> Iterator[tuple[int, list[BatchItem]]]:
    """Non-blank lines after ``skip_to``, parsed: up to ``build_after`` only checked (no items).
    ``part`` = (start byte, end byte or None, line number at start) limits it to part of the file.
    ``array``: the file is one JSON array, whose records count as its lines (``part`` does not
    apply)."""
    parser = PARSERS[format]
    if array:
        yield from _parsed_records(
            path, parser, source_hash, options, progress, skip_to, build_after
        )
        return
    position, end, first_line = part
    with open(path, "rb") as fh:
        fh.seek(position)
        for line_no, raw in enumerate(fh, first_line):
            if end is not None and position >= end:
                return
            position += len(raw)
            # (file lines are never empty; no copy as with strip)
            if line_no <= skip_to or raw.isspace():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
                items = parser(obj, _context(source_hash, line_no, options, line_no > build_after))
            except ImportFormatError:
                raise
            except (ValueError, KeyError, TypeError, IndexError, PrmError) as exc:
                raise ImportFormatError(str(path), line_no, _describe(exc)) from exc
            if progress is not None:
                progress(1)
            yield line_no, items


def _parsed_records(
    path: Path,
    parser: Parser,
    source_hash: str,
    options: ImportOptions,
    progress: Callable[[int], None] | None,
    skip_to: int,
    build_after: int,
) -> Iterator[tuple[int, list[BatchItem]]]:
    """:func:`_parsed_lines` for a file that is one JSON array: its records, numbered from 1."""
    for number, line_no, obj in _array_records(path):
        if number <= skip_to:
            continue
        try:
            if not isinstance(obj, dict):
                raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
            items = parser(obj, _context(source_hash, number, options, number > build_after))
        except (ValueError, KeyError, TypeError, IndexError, PrmError) as exc:
            raise ImportFormatError(
                str(path), line_no, f"record {number}: {_describe(exc)}"
            ) from exc
        if progress is not None:
            progress(1)
        yield number, items


def is_json_array(path: str | Path) -> bool:
    """Whether the file is one JSON array (its first non-blank character is ``[``), not JSON lines.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.json")
    >>> _ = open(path, "w").write(' [{"id": "gsm8k-0"}]')
    >>> is_json_array(path)
    True
    """
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 12):
            if head := chunk.lstrip():
                return head.startswith(b"[")
    return False


_BLANK = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def _array_records(path: Path) -> Iterator[tuple[int, int, Any]]:
    """``(position from 1, file line where it starts, value)`` of each element of the JSON array
    that ``path`` holds; bad syntax raises :class:`ImportFormatError` naming its line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            str(path),
            data.count(b"\n", 0, exc.start) + 1,
            f"not UTF-8 text (byte {exc.start} of the file)",
        ) from exc
    decode = json.JSONDecoder().raw_decode
    position = _BLANK.match(text, text.index("[") + 1).end()
    number, line, counted = 0, 1, 0
    more = not text.startswith("]", position)  # (an empty array has no records)
    while more:
        number += 1
        line, counted = line + text.count("\n", counted, position), position
        try:
            value, position = decode(text, position)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(
                str(path),
                exc.lineno,
                f"record {number}: not valid JSON ({exc.msg} at column {exc.colno})",
            ) from exc
        yield number, line, value
        position = _BLANK.match(text, position).end()
        if text.startswith("]", position):
            break
        if not text.startswith(",", position):
            raise _syntax_error(path, text, position, f"expected ',' or ']' after record {number}")
        position = _BLANK.match(text, position + 1).end()
    end = _BLANK.match(text, position + 1).end()
    if end < len(text):
        raise _syntax_error(path, text, end, "extra data after the array")


def _syntax_error(path: Path, text: str, position: int, message: str) -> ImportFormatError:
    return ImportFormatError(
        str(path), text.count("\n", 0, position) + 1, f"not a JSON array ({message})"
    )


def _context(source_hash: str, line: int, options: ImportOptions, build: bool) -> LineContext:
    """``LineContext(...)`` without the frozen dataclass's per-field ``object.__setattr__`` (one per
    line)."""
    ctx = object.__new__(LineContext)
    vars(ctx).update(source_hash=source_hash, line=line, options=options, build=build)
    return ctx


def _describe(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start} of the line)"
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    return str(exc)
