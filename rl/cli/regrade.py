"""``rlvr regrade``: re-grade verdicts or rollouts under another verifier version, report the flips.

::

    rlvr grade golden.jsonl --verifier math@1 -o v1.jsonl
    rlvr regrade v1.jsonl --inputs golden.jsonl --to math -o v2.jsonl --report flips.json
    rlvr regrade runs/grpo --to math@2 --tasks bundled:math -o runs/grpo/regraded.jsonl
    rlvr regrade eval.jsonl --to math@2 -o eval.math2.jsonl

INPUT is ``rlvr grade`` output (with ``--inputs`` when its lines carry no response and reference),
``rlvr eval --out`` output, or trainer records (``rollouts.jsonl``, a ``rollouts/`` Parquet
directory, or the run directory). Output: for verdict and eval files, every input line unchanged
plus ``"regraded"``; for records, one line per completion ``{step, group, sample, task_id,
old_verdict, regraded}``. N in = N out: what cannot be re-graded gets an ``error`` verdict with
code ``cannot_regrade`` saying why. ``--to math`` means the latest math and must match the old
verdicts' verifier. Flips are reported, not an error: exit code 0; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import RLError


def add_commands(sub: Any) -> None:
    """Add ``regrade`` to the ``rlvr`` root parser."""
    from verifiers.grading import DEFAULT_TIMEOUT_S

    from ..regrade import FORMATS

    p = sub.add_parser(
        "regrade",
        help="re-grade verdicts or rollout records under another verifier version",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "input",
        help="rlvr grade / rlvr eval output (JSONL), or rollout records (file or directory)",
    )
    p.add_argument(
        "--to", required=True, help="NAME[@VERSION] to re-grade under (no version: the latest)"
    )
    p.add_argument("-o", "--output", required=True, help="output JSONL file (not the input)")
    p.add_argument(
        "--inputs",
        help="the file `rlvr grade` graded, for verdict lines without response/reference",
    )
    p.add_argument(
        "--tasks",
        help="task source (JSONL/Parquet path or bundled:NAME) for lines without a reference",
    )
    p.add_argument("--format", choices=FORMATS, default=None, help="input kind (default: detected)")
    p.add_argument("--report", help="also write the flip report as JSON to this file")
    p.add_argument(
        "--examples", type=int, default=3, help="examples kept per flip (default: %(default)s)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: the usable CPUs; 0 = in-process)",
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed per item"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_regrade)


def run_regrade(args: argparse.Namespace) -> int:
    """Entry point of ``rlvr regrade``; prints the flip report, returns the exit code."""
    from verifiers.cli import progress_bar
    from verifiers.errors import VerifierError
    from verifiers.regrade import regrade

    from ..regrade import read_entries, write_entries

    problem = _usage_problem(args)
    if problem:
        return _fail(problem)
    try:
        fmt, entries = read_entries(
            args.input, fmt=args.format, inputs=args.inputs, tasks=args.tasks
        )
        items = [entry.item for entry in entries]
        with progress_bar(
            len(items), label="re-grading", disabled=args.no_progress, transient=True
        ) as advance:
            result = regrade(
                items,
                args.to,
                workers=args.workers,
                timeout_s=args.timeout,
                progress=advance,
                examples=args.examples,
            )
        write_entries(args.output, entries, result.verdicts)
        if args.report:
            Path(args.report).write_text(
                json.dumps(result.report.to_dict(), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
    except (RLError, VerifierError, OSError, ValueError) as exc:
        return _fail(_describe(exc))
    print(result.report.to_text())
    print(f"{fmt} input: {len(entries)} lines in {args.input} -> {args.output}")
    return 0


def _usage_problem(args: argparse.Namespace) -> str:
    """What is wrong with the command line, checked before any input is read ("" when nothing)."""
    if (args.workers is not None and args.workers < 0) or not args.timeout > 0 or args.examples < 0:
        return (
            "need --workers >= 0, --timeout > 0 and --examples >= 0, "
            f"got {args.workers}, {args.timeout} and {args.examples}"
        )
    if not Path(args.input).exists():
        return f"{args.input}: no such file or directory"
    for flag, path in (("-o", args.output), ("--report", args.report)):
        problem = _unwritable(path, args)
        if problem:
            return f"{flag} {path}: {problem}"
    if args.report and _same(Path(args.report), Path(args.output)):
        return f"--report {args.report} is the -o file; give the report its own file"
    return ""


def _unwritable(path: str | None, args: argparse.Namespace) -> str:
    """Why ``path`` cannot take an output file ("" when it can or is not given)."""
    from verifiers.cli import unwritable

    inputs = [p for p in (args.input, args.inputs) if p]
    if path and any(_same(Path(path), Path(p)) for p in inputs):
        return "is an input of this command; write the re-graded lines to a new file"
    return unwritable(path)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _fail(message: str) -> int:
    print(f"rlvr regrade: error: {message}", file=sys.stderr)
    return 2


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)
