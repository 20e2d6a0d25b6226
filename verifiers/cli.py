"""``rlvr grade`` and ``rlvr verifiers``: standalone grading of model outputs from JSONL.

Input lines: ``{"id": ..., "verifier": "NAME[@VERSION]", "response": "...", "reference": {...}}``
(``verifier`` may be left out when ``--verifier`` is given). Output lines: ``{"id": ...,
"verdict": {...}}``, one per input line, in input order. A malformed line (bad JSON, unknown
verifier, missing field, even an empty line) becomes an ``error`` verdict with its reason; it
is never dropped. Input (a file or stdin) is read as UTF-8: a leading byte-order mark is skipped,
CRLF line ends are fine, and undecodable bytes become U+FFFD. An output path in a missing
directory is refused before anything is graded (exit code 2). SIGTERM stops grading like Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Callable, ContextManager, Iterator

from . import registry
from .base import error_verdict
from .errors import VerifierError
from .grading import DEFAULT_TIMEOUT_S, GradeItem, grade_iter
from .hashing import json_line
from .jsonl import EMPTY_LINE, BadLine, decode_line, open_jsonl, stdin_jsonl
from .verdict import Verdict


def add_commands(sub: argparse._SubParsersAction) -> None:
    grade_p = sub.add_parser(
        "grade",
        help="grade a JSONL file of model outputs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grade_p.add_argument("input", help="input JSONL file, or - for stdin")
    grade_p.add_argument("-o", "--output", required=True, help="output JSONL file, or - for stdout")
    grade_p.add_argument(
        "--verifier", help="NAME[@VERSION] for lines that name none (a line's own wins)"
    )
    grade_p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: the usable CPUs; 0 = in-process)",
    )
    grade_p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed per item"
    )
    grade_p.add_argument(
        "--sandbox",
        choices=("auto", "docker", "local"),
        default=None,
        help="sandbox backend for code verifiers (default: auto)",
    )
    grade_p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where to grade: local worker processes (default) or a Ray cluster "
        "(needs pip install 'rlvr[ray]'; --workers is then per node)",
    )
    grade_p.add_argument(
        "--address",
        help="with --executor ray: the cluster (auto, HOST:PORT or "
        "ray://HOST:PORT; default $RAY_ADDRESS, else a new local instance)",
    )
    grade_p.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade_p.add_argument("--summary-json", help="also write the summary as JSON to this file")
    grade_p.set_defaults(func=run_grade)
    list_p = sub.add_parser("verifiers", help="list registered verifiers; check or audit one")
    list_p.set_defaults(func=run_list)
    _add_qa_commands(list_p.add_subparsers(dest="verifiers_command", metavar="SUBCOMMAND"))


def _add_qa_commands(vsub: argparse._SubParsersAction) -> None:
    check_p = vsub.add_parser(
        "check",
        help="check_verifier: registry, golden table, determinism, pickling, "
        "time bound, reward-hacking probes",
    )
    check_p.add_argument(
        "spec", nargs="?", help="NAME[@VERSION] (no version: every version of NAME)"
    )
    check_p.add_argument(
        "--all", action="store_true", help="check every registered verifier version"
    )
    check_p.add_argument("--golden", help="golden table JSONL to use instead of the verifier's own")
    check_p.add_argument(
        "--json", dest="json_out", help="also write the reports as JSON to this file"
    )
    check_p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    check_p.set_defaults(func=run_check)
    audit_p = vsub.add_parser(
        "audit", help="false-pass / false-fail rates with 95%% intervals on a labelled set"
    )
    audit_p.add_argument(
        "specs", nargs="+", metavar="NAME[@V]", help="one verifier version, or two side by side"
    )
    audit_p.add_argument(
        "--labelled", required=True, help="labelled JSONL: response, reference, label (or status)"
    )
    audit_p.add_argument(
        "--json", dest="json_out", help="also write the report as JSON to this file"
    )
    audit_p.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: the usable CPUs)"
    )
    audit_p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed per item"
    )
    audit_p.add_argument(
        "--show", type=int, default=10, help="disagreements to print per list (default 10)"
    )
    audit_p.set_defaults(func=run_audit)


def run_check(args: argparse.Namespace) -> int:
    from .qa import check_verifier

    try:
        specs = _check_specs(args)
    except VerifierError as exc:
        return _qa_fail("check", str(exc))
    if args.golden and not Path(args.golden).is_file():
        return _qa_fail("check", f"--golden {args.golden}: not a file")
    if args.workers < 1:
        return _qa_fail(
            "check",
            f"--workers {args.workers}: the check grades in worker processes; give 1 or more",
        )
    problem = unwritable(args.json_out)
    if problem:
        return _qa_fail("check", f"--json {args.json_out}: {problem}")
    reports = [check_verifier(spec, golden=args.golden, workers=args.workers) for spec in specs]
    for report in reports:
        print(report.format())
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False)
        )
    return 0 if all(r.ok for r in reports) else 1


def _check_specs(args: argparse.Namespace) -> list[str]:
    if args.all == bool(args.spec):
        raise VerifierError("give either NAME[@VERSION] or --all")
    if args.all:
        return [registry.format_spec(i.name, v) for i in registry.available() for v in i.versions]
    name, version = registry.parse_spec(args.spec)
    if version is not None:
        return [registry.resolve(args.spec)]
    registry.resolve(name)  # unknown names raise, with "did you mean"
    info = next(i for i in registry.available() if i.name == name)
    return [registry.format_spec(name, v) for v in info.versions]


def run_audit(args: argparse.Namespace) -> int:
    from .qa import audit_verifier

    if len(args.specs) > 2:
        return _qa_fail("audit", f"give one or two NAME@VERSION specs, got {len(args.specs)}")
    if not Path(args.labelled).is_file():
        return _qa_fail("audit", f"--labelled {args.labelled}: not a file")
    if args.workers is not None and args.workers < 0:
        return _qa_fail("audit", f"--workers {args.workers}: give 0 (in-process) or more")
    if not args.timeout > 0:
        return _qa_fail("audit", f"--timeout {args.timeout}: give a number of seconds > 0")
    problem = unwritable(args.json_out)
    if problem:
        return _qa_fail("audit", f"--json {args.json_out}: {problem}")
    try:
        specs = [registry.resolve(s) for s in args.specs]
    except VerifierError as exc:
        return _qa_fail("audit", str(exc))
    report = audit_verifier(specs, args.labelled, workers=args.workers, timeout_s=args.timeout)
    print(report.format(show=args.show))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    return 0


def _qa_fail(command: str, message: str) -> int:
    print(f"rlvr verifiers {command}: error: {message}", file=sys.stderr)
    return 2


def run_list(args: argparse.Namespace) -> int:
    for info in registry.available():
        versions = ", ".join(f"@{v}" for v in info.versions)
        print(f"{info.name:<16} {versions:<12} {info.description}")
    return 0


def parse_line(
    line: str, lineno: int, default_verifier: str | None
) -> tuple[Any, GradeItem | Verdict]:
    """One input line -> (id, item to grade) or (id, error verdict explaining the bad line)."""
    record = decode_line(line)
    if isinstance(record, BadLine):
        why = " (each input line gets an output line)" if record.code == EMPTY_LINE else ""
        return None, error_verdict(record.code, f"line {lineno}: {record.describe()}{why}")
    record_id = record.get("id")
    spec = record.get("verifier") or default_verifier
    missing = [
        f
        for f, ok in (
            ("verifier", spec),
            ("response", "response" in record),
            ("reference", "reference" in record),
        )
        if not ok
    ]
    if missing:
        return record_id, error_verdict(
            "missing_field",
            f"line {lineno}: missing {', '.join(missing)}",
            verifier=str(spec or ""),
            response=record.get("response"),
            reference=record.get("reference"),
        )
    if not isinstance(spec, str):
        return record_id, error_verdict(
            "bad_record", f"line {lineno}: 'verifier' must be a string like 'math@1'"
        )
    return record_id, GradeItem(record["response"], record["reference"], spec, record_id)


def run_grade(args: argparse.Namespace) -> int:
    with _sandbox_choice(args.sandbox):
        return _run_grade(args)


@contextmanager
def _sandbox_choice(kind: str | None) -> Iterator[None]:
    """``$RLVR_SANDBOX`` set to ``kind`` while this command grades (its worker processes inherit
    it), then restored: the choice of one command never leaks into the rest of the process."""
    import os

    from sandbox import ENV_VAR

    before = os.environ.get(ENV_VAR)
    if kind:
        os.environ[ENV_VAR] = kind
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before


def _run_grade(args: argparse.Namespace) -> int:
    problem = _usage_problem(args)
    if problem:
        return _fail(problem)
    try:
        with _open_in(args.input) as fin:
            parsed = [parse_line(line, n, args.verifier) for n, line in enumerate(fin, 1)]
    except OSError as exc:
        return _fail(f"cannot read {args.input}: {exc.strerror or exc}")
    with ExitStack() as stack:
        try:
            executor = _executor(args, stack)
        except Exception as exc:  # a missing extra, or a cluster that cannot be reached
            where = args.address or "a new local instance"
            return _fail(
                str(exc)
                if isinstance(exc, VerifierError)
                else f"cannot use the Ray cluster at {where}: {exc}"
            )
        try:
            fout = stack.enter_context(_open_out(args.output))
        except OSError as exc:
            return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
        summary = _grade_into(fout, parsed, args, stack, executor)
    if args.summary_json:
        try:
            with open(args.summary_json, "w") as fh:
                json.dump(summary.to_dict(summary.elapsed_s), fh, indent=2)
        except OSError as exc:
            return _fail(f"cannot write {args.summary_json}: {exc.strerror or exc}")
    return 0


def _executor(args: argparse.Namespace, stack: ExitStack) -> Any:
    """The Ray executor for ``--executor ray`` (closed with ``stack``); ``None`` for local
    grading."""
    if args.executor != "ray":
        return None
    from .ray_executor import RayExecutor

    return stack.enter_context(
        RayExecutor(
            args.address,
            workers_per_node=args.workers,
            timeout_s=args.timeout,
            sandbox=args.sandbox,
        )
    )


def _fail(message: str) -> int:
    print(f"rlvr grade: error: {message}", file=sys.stderr)
    return 2


def _usage_problem(args: argparse.Namespace) -> str:
    """What is wrong with the command line, checked before any input is read ("" when nothing)."""
    if (args.workers is not None and args.workers < 0) or not args.timeout > 0:
        return f"need --workers >= 0 and --timeout > 0, got {args.workers} and {args.timeout}"
    if args.executor == "ray" and args.workers == 0:
        return (
            "--workers 0 grades in-process; "
            "with --executor ray give the workers per node (1 or more)"
        )
    if args.address and args.executor != "ray":
        return f"--address {args.address} is for a Ray cluster; add --executor ray"
    if args.verifier:
        try:
            registry.resolve(args.verifier)  # misuse fails now, with the list of verifiers
        except VerifierError as exc:
            return f"--verifier {args.verifier}: {exc}"
    for flag, path in (("-o", args.output), ("--summary-json", args.summary_json)):
        problem = unwritable(path)
        if problem:
            return f"{flag} {path}: {problem}"
    return ""


def _grade_into(
    fout: IO[str], parsed: list, args: argparse.Namespace, stack: ExitStack, executor: Any = None
) -> "Summary":
    """Grade ``parsed`` lines, write one output line each, print the summary and return it."""
    start = time.perf_counter()
    summary = Summary()
    stack.enter_context(_sigterm_exits())
    with progress_bar(len(parsed), label="grading", disabled=args.no_progress) as advance:
        for (record_id, _), verdict in zip(parsed, _verdicts(parsed, args, advance, executor)):
            fout.write(json_line({"id": record_id, "verdict": verdict.to_dict()}))
            summary.add(verdict)
    summary.elapsed_s = time.perf_counter() - start
    summary.print(summary.elapsed_s, sys.stderr if args.output == "-" else sys.stdout)
    return summary


def unwritable(path: str | None) -> str:
    """Why an output file cannot be created at ``path`` ("" when it can, or for stdout / no path).

    Commands check their output paths with it before they read or grade anything.

    >>> unwritable("/no/such/dir/out.jsonl")
    "the directory '/no/such/dir' does not exist; create it first (mkdir -p /no/such/dir)"
    """
    if not path or path == "-":
        return ""
    target = Path(path)
    if target.is_dir():
        return "is a directory; give a file name"
    parent = target.parent
    if not parent.is_dir():
        return f"the directory {str(parent)!r} does not exist; create it first (mkdir -p {parent})"
    return ""


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While grading, SIGTERM exits like Ctrl-C: workers are stopped and finished lines are
    flushed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _verdicts(
    parsed: list, args: argparse.Namespace, advance, executor: Any = None
) -> Iterator[Verdict]:
    """Verdicts in input order: bad lines answered in place, good ones graded in workers."""
    items = [entry for _, entry in parsed if isinstance(entry, GradeItem)]
    graded = grade_iter(
        items, workers=args.workers, timeout_s=args.timeout, executor=executor, progress=advance
    )
    for _, entry in parsed:
        if isinstance(entry, GradeItem):
            yield next(graded)
        else:
            advance(1)
            yield entry
    for _ in graded:  # drain, closing the pool
        pass


class Summary:
    """Counts per verifier@version: items, statuses, pass rate; and throughput."""

    def __init__(self) -> None:
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.elapsed_s = 0.0

    def add(self, verdict: Verdict) -> None:
        spec = (
            verdict.spec if verdict.verifier_version else f"(invalid) {verdict.verifier}".rstrip()
        )
        self.status[spec][verdict.status.value] += 1

    def to_dict(self, elapsed_s: float) -> dict[str, Any]:
        total = sum(sum(c.values()) for c in self.status.values())
        per = {
            spec: {
                "items": sum(c.values()),
                "pass_rate": c["pass"] / max(1, sum(c.values())),
                "status": dict(c),
            }
            for spec, c in sorted(self.status.items())
        }
        return {
            "items": total,
            "elapsed_s": round(elapsed_s, 3),
            "items_per_s": round(total / elapsed_s, 1) if elapsed_s > 0 else None,
            "verifiers": per,
        }

    def print(self, elapsed_s: float, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.table import Table

        data = self.to_dict(elapsed_s)
        table = Table(
            title=f"{data['items']} items in {elapsed_s:.2f} s ({data['items_per_s']} items/s)"
        )
        for col in (
            "verifier",
            "items",
            "pass rate",
            "pass",
            "fail",
            "unparseable",
            "timeout",
            "error",
        ):
            table.add_column(col, justify="left" if col == "verifier" else "right")
        for spec, row in data["verifiers"].items():
            st = row["status"]
            table.add_row(
                spec,
                str(row["items"]),
                f"{row['pass_rate']:.1%}",
                *(str(st.get(k, 0)) for k in ("pass", "fail", "unparseable", "timeout", "error")),
            )
        Console(file=stream, width=120).print(table)


def _open_in(path: str) -> ContextManager[IO[str]]:
    """The input as text (see :mod:`verifiers.jsonl`); stdin is decoded the same way as a file."""
    return stdin_jsonl() if path == "-" else open_jsonl(path)


@contextmanager
def _open_out(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        with open(path, "w", encoding="utf-8") as fh:
            yield fh


@contextmanager
def progress_bar(
    total: int, *, label: str, disabled: bool = False, transient: bool = False
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for ``total`` items; yields ``advance(n=1)``.

    ``disabled`` yields a no-op instead; ``transient`` clears the bar when it is done.
    Shared by the commands that grade many items (``rlvr grade``, ``rlvr regrade``).
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    if disabled:
        yield lambda n=1: None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=transient) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
