"""Importers: PRM800K, Math-Shepherd and ProcessBench records, batched, resumable, idempotent.

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

Mapping of PRM800K (one line = one labelled solution):

* ``question.problem`` / ``ground_truth_answer`` -> problem; ``ground_truth_solution`` kept in the
  trajectory's ``meta``.
* The main path is, per step, the chosen completion, else the human completion, else (phase 2)
  the completion equal to the pre-generated step. When ``pre_generated_steps`` extend the path,
  the raw text is all pre-generated steps (steps after the labelled ones stay unlabelled).
  Steps are joined with ``"\\n"`` and recorded under segmentation ``prm800k@1``.
* Each rating (-1/0/+1) becomes a ``human`` ternary label event by ``labeler`` at ``timestamp``;
  ``flagged`` goes into the event's ``meta``; the line's ``finish_reason``, ``total_time``,
  ``generation``, screening/quality-control flags and line number are stored once, as the
  labelling session (``label_sessions``) its events belong to, and read back merged into each
  event's ``meta``. A human-written completion is labelled +1 (the labelling
  interface only allowed it as a correct step), with ``meta.human_completion = true``.
* Every alternative completion becomes its own trajectory (``parent_id`` = the main path,
  ``branch_step`` = its step): the main path's steps before it plus the alternative, with the
  same ratings on the shared prefix and the alternative's own rating at the end.
* A step whose ``completions`` is null (or empty) with nothing chosen or written has no text and
  no rating (PRM800K records one where a labeler stopped, e.g. ``give_up``): it adds no step and
  no label, and ends the path; only such steps may follow it. Nothing is labelled in its place.

Math-Shepherd (``{"input", "label"}``, steps ending in a tag such as ``ки`` and the same text
with ``+``/``-`` in place of the tags): the problem is the text before ``Step 1:``, the raw
text is the solution with the tags removed, and each ``+``/``-`` is a boolean label event by
annotator kind ``monte_carlo`` (Math-Shepherd's labels are hard Monte-Carlo estimates) with id
``math-shepherd``.

ProcessBench (``{id, generator, problem, steps, final_answer_correct, label}``, ``label`` = index of
the first wrong step or -1): the raw text is the steps joined by ``"\\n\\n"``, one step each
(segmentation ``processbench@1``); the steps before ``label`` get ``human`` ternary +1 events by
``processbench``, step ``label`` gets -1, the steps after it get nothing (``label`` -1: every step
+1), so :meth:`~rl.prm.store.PrmStore.first_wrong_step` gives ``label`` back. The record's
``generator`` is the trajectory's, ``id`` goes into its ``meta`` (``processbench_id``),
``final_answer_correct`` becomes a final verdict by ``processbench:final_answer_correct`` (pass /
fail), and the source is ``ProcessBench/<subset>`` from the id (``gsm8k-0`` -> ``gsm8k``).
Event keys name the record id and label, not the file, so the JSON and the JSONL form of the same
records import once.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import operator
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .errors import ImportFormatError, PrmError
from .batch import BatchItem, BatchMark, new_item, write_batch
from .spool import Spool, run_forked, split_lines
from .store import PrmStore, dedupe_base, now, to_json

Parser = Callable[[Mapping[str, Any], "LineContext"], list[BatchItem]]


@dataclass(frozen=True)
class ImportOptions:
    """Provenance and knobs shared by the importers."""

    source: str | None = None
    """Source dataset name recorded on problems (default: per format)."""
    licence: str | None = None
    """Licence of the source dataset, recorded on problems."""
    generator: str | None = None
    """Generator recorded on trajectories (default: per format). ProcessBench records name their own
    generator, which is kept; this applies only to a record without one."""
    step_tag: str = "ки"
    """Math-Shepherd: the tag that ends each step in ``input``."""
    solution_start: str = r"Step 1\s*:"
    """Math-Shepherd: regex where the solution begins (the problem is the text before it)."""

    def __post_init__(self) -> None:
        if not self.step_tag:
            raise PrmError("ImportOptions.step_tag is empty; Math-Shepherd files use 'ки'")


@dataclass(frozen=True)
class LineContext:
    """Where a parsed line came from (for dedupe keys)."""

    source_hash: str
    """sha256 of the file."""
    line: int
    """1-based line number."""
    options: ImportOptions
    """Importer options."""
    build: bool = True
    """False in the validation pass: check everything, build nothing."""


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
    """Commit ``lines`` after ``done`` (last line, last batch number) in batches of ``batch_lines``."""
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
                i if i.parent is None else replace(i, parent=i.parent + offset) for i in items
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
    ``array``: the file is one JSON array, whose records count as its lines (``part`` does not apply)."""
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
            if (
                line_no <= skip_to or raw.isspace()
            ):  # (file lines are never empty; no copy as with strip)
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
    """``LineContext(...)`` without the frozen dataclass's per-field ``object.__setattr__`` (one per line)."""
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


# -- PRM800K ------------------------------------------------------------------------------------
def parse_prm800k(obj: Mapping[str, Any], ctx: LineContext) -> list[BatchItem]:
    """One PRM800K line -> the main trajectory plus one trajectory per alternative completion."""
    question, label = _require(obj, "question", dict), _require(obj, "label", dict)
    problem, gold = _require(question, "problem", str), question.get("ground_truth_answer")
    gold = None if gold is None else str(gold)
    steps = _require(label, "steps", list)
    labeler = str(obj.get("labeler") or "unknown")
    stamp = str(obj.get("timestamp") or now())
    line_meta = {
        k: v
        for k, v in (
            ("finish_reason", label.get("finish_reason")),
            ("total_time", label.get("total_time")),
            ("generation", obj.get("generation")),
            ("is_quality_control_question", obj.get("is_quality_control_question")),
            ("is_initial_screening_question", obj.get("is_initial_screening_question")),
            ("line", ctx.line),
        )
        if v is not None
    }
    pre = question.get("pre_generated_steps")
    if pre is not None and (
        type(pre) is not list or (pre and set(map(type, pre)) != _STR) or "" in pre
    ):
        raise ValueError("question.pre_generated_steps must be a list of non-empty strings")
    texts, path, alternatives, ratings, special = _main_path(steps, pre or [])
    if not ctx.build:
        return []
    use_pre = type(pre) is list and bool(path) and texts == pre[: len(path)]
    options = ctx.options
    common = {
        "problem_text": problem,
        "gold_answer": gold,
        "source": options.source or "PRM800K",
        "licence": options.licence,
        "generator": options.generator or "prm800k",
        "method": "prm800k",
        "method_version": 1,
    }
    meta = {
        k: question[k]
        for k in ("ground_truth_solution", "pre_generated_verifier_score")
        if k in question
    }
    rows = _LabelRows(ctx, labeler, stamp, line_meta)
    items = []
    if path or use_pre:
        raw, spans = _join(pre if use_pre else texts)
        labels, plain = (rows.build(path, 0), None) if special else ([], rows.plain(ratings))
        items.append(
            new_item(
                common,
                raw_text=raw,
                spans=spans,
                labels=labels,
                plain_labels=plain,
                meta_json=to_json(meta),
                session=rows.session,
                final_answer=question.get("pre_generated_answer") if use_pre else None,
            )
        )
    for branch, (i, completion) in enumerate(alternatives, 1):
        raw, spans = _join(texts[:i] + [completion["text"]])
        labels = rows.build(path[:i] + [completion], branch)
        items.append(
            new_item(
                common,
                raw_text=raw,
                spans=spans,
                labels=labels,
                session=rows.session,
                parent=0 if path else None,
                branch_step=i,
            )
        )
    return items


def _main_path(
    steps: list, pre: list
) -> tuple[list[str], list[dict], list[tuple[int, dict]], list, bool]:
    """Texts and completions along the main path, (step index, completion) of each alternative,
    the main path's ratings, and whether one of its completions is flagged or human-written."""
    texts: list[str] = []
    path: list[dict] = []
    alternatives: list[tuple[int, dict]] = []
    main_ratings: list = []
    special = False
    ratings = _RATINGS
    c = text = rating = None  # the last completion checked, its text and its rating
    for i, step in enumerate(steps):
        completions = step.get("completions", _MISSING) if type(step) is dict else _MISSING
        if type(completions) is not list:
            completions = _no_completions(i, completions)
        for c in completions:
            if type(c) is not dict or type(text := c.get("text")) is not str or not text:
                raise ValueError(
                    f"step {i}: a completion must be an object with a non-empty text, got {str(c)[:60]!r}"
                )
            if (rating := c.get("rating")) not in ratings or isinstance(
                rating, bool
            ):  # True == 1 in Python
                raise ValueError(f"step {i}: rating must be -1, 0, 1 or null, got {rating!r}")
        chosen, count = step.get("chosen_completion"), len(completions)
        if chosen is not None:
            if type(chosen) is not int or not 0 <= chosen < count:
                raise ValueError(
                    f"step {i}: chosen_completion {chosen!r} is not an index into its "
                    f"{len(completions)} completions"
                )
            main = completions[chosen]
        elif (human := step.get("human_completion")) is not None:
            text = human if isinstance(human, str) else _require(human, "text", str)
            if not text:
                raise ValueError(f"step {i}: human_completion text is empty")
            main = {"text": text, "rating": 1, "human_completion": True}
        elif i < len(pre) and any(c["text"] == pre[i] for c in completions):
            main = next(c for c in completions if c["text"] == pre[i])
        else:
            if not all(map(_is_empty_step, steps[i + 1 :])):
                raise ValueError(
                    f"step {i} has no chosen or human completion but is not the last step "
                    "(only steps without completions may follow it)"
                )
            alternatives.extend((i, c) for c in completions)
            break
        if (
            main is c
        ):  # the last completion checked (the only one, mostly): its text and rating are at hand
            texts.append(text)
            main_ratings.append(rating)
        else:
            texts.append(main["text"])
            main_ratings.append(main.get("rating"))
        path.append(main)
        if main.get("flagged") or main.get("human_completion"):
            special = True
        if count != 1 or (completions[0] is not main and completions[0] != main):
            alternatives.extend((i, c) for c in completions if c is not main)
    return texts, path, alternatives, main_ratings, special


_MISSING = object()


def _no_completions(index: int, completions: Any) -> list:
    """``[]`` for a step whose completions are null (PRM800K's step with no completion, e.g. where the
    labeler gave up: nothing to rate); raise for a missing field or anything else that is not a list."""
    if completions is None:
        return []
    if completions is _MISSING:
        raise ValueError(
            f"step {index} needs a 'completions' field (a list, or null for a step with none)"
        )
    raise ValueError(
        f"step {index}: completions must be a list or null, got {type(completions).__name__}"
    )


def _is_empty_step(step: Any) -> bool:
    """A step with no completion at all (``completions`` null or empty, nothing chosen or written),
    as PRM800K records one where the labeler stopped, e.g. ``finish_reason`` ``give_up``."""
    return (
        type(step) is dict
        and step.get("completions") in (None, [])
        and step.get("chosen_completion") is None
        and step.get("human_completion") is None
    )


_RATINGS = (1, 0, -1, None)
_STR = {str}
_HUMAN_RATIONALE = "written by the labeler (PRM800K human_completion)"


class _LabelRows:
    """Builds the label rows of one PRM800K line (one labeler, one time, shared line metadata)."""

    def __init__(self, ctx: LineContext, labeler: str, stamp: str, line_meta: dict) -> None:
        self.ctx, self.labeler, self.stamp = ctx, labeler, stamp
        self.session = (
            "human",
            labeler,
            f"{ctx.source_hash[:19]}:{ctx.line}",
            stamp,
            to_json(line_meta),
        )

    def build(self, path: Sequence[dict], branch: int) -> list[tuple]:
        """One label row per rated completion of ``path`` (dicts carrying ``rating`` and maybe
        ``flagged`` / ``human_completion``)."""
        base = dedupe_base(self.ctx.source_hash, self.ctx.line, branch, self.labeler)
        labeler, stamp = self.labeler, self.stamp
        out = []
        for index, c in enumerate(path):
            rating = c.get("rating")
            if rating is None:
                continue
            if c.get("flagged") or c.get("human_completion"):
                extra = {k: True for k in ("flagged", "human_completion") if c.get(k)}
                out.append(
                    (
                        index,
                        rating,
                        "ternary",
                        "human",
                        labeler,
                        _HUMAN_RATIONALE if "human_completion" in extra else None,
                        None,
                        None,
                        None,
                        stamp,
                        to_json(extra),
                        base + index,
                    )
                )
            else:
                out.append(
                    (
                        index,
                        rating,
                        "ternary",
                        "human",
                        labeler,
                        None,
                        None,
                        None,
                        None,
                        stamp,
                        None,
                        base + index,
                    )
                )
        return out

    def plain(self, ratings: list) -> tuple:
        """The compact form (see ``BatchItem.plain_labels``) of the main path's labels when none is
        flagged or human-written: the rows :meth:`build` gives for it, in the same order."""
        base = dedupe_base(self.ctx.source_hash, self.ctx.line, 0, self.labeler)
        if None in ratings:
            steps = [i for i, r in enumerate(ratings) if r is not None]
            ratings = [r for r in ratings if r is not None]
        else:
            steps = list(range(len(ratings)))
        return ("ternary", "human", self.labeler, self.stamp, base, steps, ratings)


def _join(texts: Sequence[str], separator: str = "\n") -> tuple[str, list[tuple[int, int]]]:
    """The texts joined by ``separator``, and each one's (start, end) in the result."""
    lengths = list(map(len, texts))
    if 0 in lengths:
        raise ValueError("a step's text is empty")
    gap = len(separator)
    starts = list(itertools.accumulate([n + gap for n in lengths[:-1]], initial=0))
    return separator.join(texts), list(zip(starts, map(operator.add, starts, lengths)))


def _require(obj: Any, key: str, kind: type) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise KeyError(key)
    value = obj[key]
    if not isinstance(value, kind):
        raise ValueError(f"field {key!r} should be a {kind.__name__}, got {type(value).__name__}")
    return value


# -- Math-Shepherd ------------------------------------------------------------------------------
_ANSWER = re.compile(r"The answer is:?\s*(.+?)\s*$", re.S)


def parse_math_shepherd(obj: Mapping[str, Any], ctx: LineContext) -> list[BatchItem]:
    """One Math-Shepherd line -> one trajectory with one boolean label per tagged step."""
    text, labelled = _require(obj, "input", str), _require(obj, "label", str)
    tag = ctx.options.step_tag
    parts = text.split(tag)
    if len(parts) < 2:
        raise ValueError(f"no step tag {tag!r} in input")
    marks = _marks(parts, labelled)
    match = re.search(ctx.options.solution_start, parts[0])
    if match is None:
        raise ValueError(
            f"cannot find where the solution starts (pattern {ctx.options.solution_start!r}); "
            "pass ImportOptions(solution_start=...)"
        )
    if not ctx.build:
        return []
    problem = parts[0][: match.start()].strip()
    parts[0] = parts[0][match.start() :]
    raw = "".join(parts)
    spans, position = [], 0
    for part in parts[:-1]:
        start, end = position + len(part) - len(part.lstrip()), position + len(part.rstrip())
        if start >= end:
            raise ValueError(f"step {len(spans)} is empty")
        spans.append((start, end))
        position += len(part)
    annotator, stamp = "math-shepherd", now()
    base = dedupe_base(ctx.source_hash, ctx.line, 0, annotator)
    labels = [
        (
            i,
            1 if mark == "+" else 0,
            "boolean",
            "monte_carlo",
            annotator,
            None,
            None,
            None,
            None,
            stamp,
            None,
            base + i,
        )
        for i, mark in enumerate(marks)
    ]
    answer = _ANSWER.search(raw[spans[-1][0] : spans[-1][1]])
    task = obj.get("task")
    return [
        BatchItem(
            problem_text=problem,
            gold_answer=None,
            source=ctx.options.source or (f"Math-Shepherd/{task}" if task else "Math-Shepherd"),
            licence=ctx.options.licence,
            raw_text=raw,
            generator=ctx.options.generator or "math-shepherd",
            method="math_shepherd",
            method_version=1,
            spans=spans,
            labels=labels,
            final_answer=answer.group(1) if answer else None,
        )
    ]


def _marks(parts: list[str], labelled: str) -> list[str]:
    """The ``+``/``-`` in ``labelled`` where ``input`` had tags; raise if the texts differ elsewhere."""
    marks, position = [], 0
    for index, part in enumerate(parts[:-1]):
        if labelled[position : position + len(part)] != part:
            raise ValueError(f"label text differs from input before step {index}")
        position += len(part)
        mark = labelled[position : position + 1]
        if mark not in ("+", "-"):
            raise ValueError(
                f"step {index}: expected '+' or '-' in label where input has the tag, got {mark!r}"
            )
        marks.append(mark)
        position += 1
    if labelled[position:] != parts[-1]:
        raise ValueError("label text differs from input after the last step")
    return marks


# -- ProcessBench -------------------------------------------------------------------------------
#: The verifier name under which ProcessBench's ``final_answer_correct`` is recorded as a final verdict.
PROCESSBENCH_VERIFIER = "processbench:final_answer_correct"
_PROCESSBENCH_ANNOTATOR = "processbench"
_PROCESSBENCH_SUBSET = re.compile(r"(.+)-\d+")


def parse_processbench(obj: Mapping[str, Any], ctx: LineContext) -> list[BatchItem]:
    """One ProcessBench record -> one trajectory whose steps are the record's steps: +1 on every step
    before the first wrong one (``label``), -1 on it, nothing after it (``label`` -1: all +1).

    >>> import tempfile, os, json
    >>> from rl.prm.store import PrmStore
    >>> d = tempfile.mkdtemp(); path = os.path.join(d, "demo.json")
    >>> record = {"id": "demo-0", "generator": "m", "problem": "1+1?", "steps": ["1+1=3.", "So 3.", "Done."],
    ...           "final_answer_correct": False, "label": 0}
    >>> _ = open(path, "w").write(json.dumps([record], indent=2))    # a JSON array, as ProcessBench ships
    >>> store = PrmStore(os.path.join(d, "p.db"))
    >>> report = import_file(store, path, "processbench")
    >>> report.steps, report.events, store.first_wrong_step(1), store.final_verdict(1).status
    (3, 1, 0, 'fail')
    """
    record_id, problem, steps, label, correct, generator = _processbench_fields(obj)
    if not ctx.build:
        return []
    options = ctx.options
    labelled = len(steps) if label < 0 else label + 1
    values = [1] * labelled
    if label >= 0:
        values[label] = -1
    # Keyed by the record, not the file: the JSON and the JSONL form of the same records import once.
    base = dedupe_base(_PROCESSBENCH_ANNOTATOR, record_id, label)
    subset = _PROCESSBENCH_SUBSET.fullmatch(record_id)
    raw, spans = _join(steps, "\n\n")
    return [
        new_item(
            {
                "problem_text": problem,
                "gold_answer": None,
                "source": options.source
                or ("ProcessBench/" + subset.group(1) if subset else "ProcessBench"),
                "licence": options.licence,
                "generator": generator or options.generator or "unknown",
                "method": "processbench",
                "method_version": 1,
            },
            raw_text=raw,
            spans=spans,
            labels=[],
            meta_json=to_json({"processbench_id": record_id}),
            plain_labels=(
                "ternary",
                "human",
                _PROCESSBENCH_ANNOTATOR,
                now(),
                base,
                list(range(labelled)),
                values,
            ),
            verdict=None
            if correct is None
            else (PROCESSBENCH_VERIFIER, "pass" if correct else "fail", float(correct), None),
        )
    ]


def _processbench_fields(
    obj: Mapping[str, Any],
) -> tuple[str, str, list[str], int, bool | None, str | None]:
    """``(id, problem, steps, label, final_answer_correct, generator)`` of a record, checked."""
    record_id, problem = obj["id"], _require(obj, "problem", str)
    steps, label = _require(obj, "steps", list), _require(obj, "label", int)
    if type(record_id) not in (str, int):
        raise ValueError(f"field 'id' should be a string, got {type(record_id).__name__}")
    if not steps or any(type(step) is not str or not step for step in steps):
        raise ValueError("field 'steps' should be a non-empty list of non-empty strings")
    if type(label) is not int or not -1 <= label < len(steps):
        raise ValueError(
            f"label {label!r} is neither -1 (no wrong step) nor a step index (0..{len(steps) - 1})"
        )
    correct, generator = obj.get("final_answer_correct"), obj.get("generator")
    if correct is not None and type(correct) is not bool:
        raise ValueError(
            f"field 'final_answer_correct' should be true, false or null, got {correct!r}"
        )
    if generator is not None and (type(generator) is not str or not generator):
        raise ValueError(f"field 'generator' should be a non-empty string, got {generator!r}")
    return str(record_id), problem, steps, label, correct, generator


#: Importer name -> record parser.
PARSERS: dict[str, Parser] = {
    "prm800k": parse_prm800k,
    "math_shepherd": parse_math_shepherd,
    "processbench": parse_processbench,
}
