"""``rlvr prm import | export | stats | annotate | show``: the PRM store on the command line.

Every subcommand takes ``--db PATH`` (default: ``$RLVR_PRM_DB`` or ``prm.db``): a SQLite file, or a
``postgresql://`` URL (``pip install 'rlvr[postgres]'``). Long work (import, export, Monte-Carlo)
shows a progress bar on a terminal.

Examples::

    rlvr prm import prm800k_phase2.jsonl --format prm800k --licence MIT
    rlvr prm import gsm8k.json math.json --format processbench --licence Apache-2.0
    rlvr prm export trl.jsonl --format trl --neutral true
    rlvr prm annotate --trajectory 3f2a9c --step 2 --value -1 --annotator alice \\
        --error-type arithmetic_slip
    rlvr prm annotate --monte-carlo --model ./tiny-policy --k 8 --limit 100
    rlvr prm annotate --grade math@2
    rlvr prm show 3f2a9c --events
    rlvr prm show --disagreements
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any, Callable, Iterator

from .errors import PrmError


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Mount ``prm`` and its subcommands on the ``rlvr`` root parser."""
    prm = sub.add_parser(
        "prm",
        help="step-level process reward (PRM) label store",
        description="Step-level process reward (PRM) label store.",
    )
    verbs = prm.add_subparsers(dest="prm_command", metavar="VERB")
    prm.set_defaults(func=lambda args: (prm.print_help(), 2)[1])
    _import_parser(verbs)
    _export_parser(verbs)
    stats = verbs.add_parser("stats", help="counts of problems, trajectories, steps, labels")
    _db(stats)
    stats.set_defaults(func=cmd_stats)
    _annotate_parser(verbs)
    _show_parser(verbs)


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("RLVR_PRM_DB", "prm.db"),
        help="SQLite file or postgresql:// URL (default: $RLVR_PRM_DB or prm.db)",
    )


_IMPORT_FORMATS = """\
formats (the mapping in full: rl/prm/README.md, "Import mappings"):
  prm800k        one labelled solution a line; main path = chosen (else human-written, else
                 pre-generated) completions, each alternative completion a branch trajectory;
                 ratings -1/0/+1 become human labels; a step with null completions (as where a
                 labeler gave up) adds no step; label.finish_reason (solution, found_error,
                 give_up, bad_problem) is kept with the line's labelling session
  math_shepherd  {"input", "label"}: steps end in the step tag; +/- become Monte-Carlo labels
  processbench   {id, generator, problem, steps, label, final_answer_correct}: the steps joined
                 by blank lines, one step each; +1 before step `label`, -1 on it, nothing after
                 (label -1: all +1); final_answer_correct becomes the final verdict
                 "processbench:final_answer_correct"; the record's generator is kept
files are JSON lines, or one JSON array of records (ProcessBench's release files)"""


def _import_parser(verbs: Any) -> None:
    p = verbs.add_parser(
        "import",
        help="import PRM800K, Math-Shepherd or ProcessBench files",
        description="Import labelled step data; resumable, and re-importing a file adds nothing.",
        epilog=_IMPORT_FORMATS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _db(p)
    p.add_argument("files", nargs="+", help="input files (JSONL, or a JSON array of records)")
    p.add_argument(
        "--format",
        default="prm800k",
        choices=("prm800k", "math_shepherd", "processbench"),
        help="input format (default: prm800k; see below)",
    )
    p.add_argument(
        "--source", help="source dataset name recorded on problems (default: per format)"
    )
    p.add_argument("--licence", help="licence of the source dataset")
    p.add_argument(
        "--generator",
        help="generator recorded on trajectories (ProcessBench: only for records without one)",
    )
    p.add_argument("--step-tag", default="ки", help="Math-Shepherd step tag (default: ки)")
    p.add_argument(
        "--batch-lines",
        type=int,
        default=2000,
        help="lines (records of a JSON array) per committed batch",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes validating parts of a big file side by side (wall time, when cores are "
        "free)",
    )
    p.set_defaults(func=cmd_import)


def _export_parser(verbs: Any) -> None:
    p = verbs.add_parser("export", help="export TRL stepwise, ProcessBench, JSONL or Parquet")
    _db(p)
    p.add_argument("out", help="output file (a directory for parquet)")
    p.add_argument("--format", default="trl", choices=("trl", "processbench", "jsonl", "parquet"))
    p.add_argument(
        "--neutral",
        default="true",
        choices=("true", "false", "truncate", "exclude_step", "error"),
        help="TRL: what a neutral (0) label becomes (default: true; see rl.prm.exporters)",
    )
    p.add_argument(
        "--unlabelled",
        default="truncate",
        choices=("truncate", "drop"),
        help="TRL: keep the labelled prefix or drop trajectories with unlabelled steps",
    )
    p.add_argument("--verifier", help="ProcessBench: final verdicts from this verifier@version")
    p.set_defaults(func=cmd_export)


def _annotate_parser(verbs: Any) -> None:
    p = verbs.add_parser(
        "annotate", help="add a label, Monte-Carlo labels, or final-answer verdicts"
    )
    _db(p)
    p.add_argument(
        "--trajectory", action="append", help="trajectory id or hash prefix (repeatable)"
    )
    p.add_argument("--step", type=int, help="step index (manual label)")
    p.add_argument(
        "--value", type=float, help="label value: -1/0/1 (ternary), 0/1 (boolean), [0,1] (soft)"
    )
    p.add_argument("--value-kind", default="ternary", choices=("ternary", "boolean", "soft"))
    p.add_argument("--annotator", help="annotator id (manual label)")
    p.add_argument(
        "--kind", default="human", choices=("human", "model_judge", "verifier", "monte_carlo")
    )
    p.add_argument("--rationale")
    p.add_argument("--error-type")
    p.add_argument(
        "--monte-carlo", action="store_true", help="Monte-Carlo labels with a local HF model"
    )
    p.add_argument("--model", help="Monte-Carlo: local model directory (transformers)")
    p.add_argument("--k", type=int, default=8, help="Monte-Carlo: continuations per step")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--seed", type=int)
    p.add_argument("--verifier", default="math@2", help="verifier for Monte-Carlo / --grade")
    p.add_argument("--grade", action="store_true", help="grade final answers and record verdicts")
    p.add_argument("--limit", type=int, help="at most this many trajectories (Monte-Carlo / grade)")
    p.add_argument("--workers", type=int, default=1, help="grading worker processes")
    p.set_defaults(func=cmd_annotate)


def _show_parser(verbs: Any) -> None:
    p = verbs.add_parser("show", help="a trajectory's steps and labels, or derived lists")
    _db(p)
    p.add_argument("trajectory", nargs="?", help="trajectory id or hash prefix")
    p.add_argument("--events", action="store_true", help="list every label event of each step")
    p.add_argument("--disagreements", action="store_true", help="steps whose annotators disagree")
    p.add_argument(
        "--cases",
        action="store_true",
        help="correct process but wrong answer, and right answer with a wrong step",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_show)


@contextlib.contextmanager
def _progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _open(args: argparse.Namespace):
    from .store import PrmStore

    return PrmStore(args.db)


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (PrmError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    run.__doc__ = fn.__doc__
    return run


@_guard
def cmd_import(args: argparse.Namespace) -> int:
    """Import files; resumable, idempotent."""
    from .importers import import_file, is_json_array
    from .parsing import ImportOptions

    options = ImportOptions(
        source=args.source, licence=args.licence, generator=args.generator, step_tag=args.step_tag
    )
    with _open(args) as store:
        for path in args.files:
            with open(path, "rb") as fh:
                lines = sum(1 for _ in fh)
            # (an array's records are not its lines)
            total = None if is_json_array(path) else 2 * lines
            with _progress(f"import {os.path.basename(path)}", total) as advance:
                report = import_file(
                    store,
                    path,
                    args.format,
                    options=options,
                    batch_lines=args.batch_lines,
                    workers=args.workers,
                    progress=advance,
                )
            resumed = (
                f", resumed after line {report.resumed_after_line}"
                if report.resumed_after_line
                else ""
            )
            print(
                f"{path}: {report.lines} records, {report.batches_committed} batches, "
                f"{report.trajectories} trajectories, {report.steps} steps, {report.events} label "
                f"events{resumed}"
            )
    return 0


@_guard
def cmd_export(args: argparse.Namespace) -> int:
    """Export in one format."""
    from .exporters import export

    options: dict[str, Any] = {}
    if args.format == "trl":
        options = {"neutral": args.neutral, "unlabelled": args.unlabelled}
    elif args.format == "processbench":
        options = {"verifier": args.verifier}
    with _open(args) as store:
        total = store.stats()["trajectories"] if args.format != "parquet" else None
        with _progress(f"export {args.format}", total) as advance:
            report = export(store, args.out, args.format, progress=advance, **options)
    skipped = f", skipped {report.skipped}" if report.skipped else ""
    print(f"{args.out}: {report.rows} rows ({args.format}){skipped}")
    return 0


@_guard
def cmd_stats(args: argparse.Namespace) -> int:
    """Print the store's counts as JSON."""
    with _open(args) as store:
        print(json.dumps(store.stats(), indent=2))
    return 0


@_guard
def cmd_annotate(args: argparse.Namespace) -> int:
    """Manual label, Monte-Carlo labels, or final-answer grading."""
    with _open(args) as store:
        if args.grade:
            return _grade(store, args)
        if args.monte_carlo:
            return _monte_carlo(store, args)
        if not (
            args.trajectory and args.step is not None and args.value is not None and args.annotator
        ):
            raise PrmError(
                "a manual label needs --trajectory, --step, --value and --annotator "
                "(or use --monte-carlo / --grade)"
            )
        step = store.step(args.trajectory[0], args.step)
        value = args.value if args.value_kind == "soft" else int(args.value)
        event = store.label(
            step.id,
            value,
            annotator_kind=args.kind,
            annotator_id=args.annotator,
            value_kind=args.value_kind,
            rationale=args.rationale,
            error_type=args.error_type,
        )
        print(
            f"label event {event.id}: step {args.step} = {event.value} by "
            f"{args.kind}:{args.annotator}"
        )
    return 0


def _targets(store: Any, args: argparse.Namespace, *, with_gold: bool = False) -> list[int]:
    ids = (
        [store.trajectory_id(ref) for ref in args.trajectory]
        if args.trajectory
        else store.trajectory_ids()
    )
    if with_gold:
        graded = {
            r[0]
            for r in store.read(
                "SELECT t.id FROM trajectories t JOIN problems p ON p.id = t.problem_id "
                "WHERE p.gold_answer IS NOT NULL"
            )
        }
        ids = [t for t in ids if t in graded]
    return ids[: args.limit] if args.limit else ids


def _grade(store: Any, args: argparse.Namespace) -> int:
    from .montecarlo import grade_final_answers

    counts = grade_final_answers(
        store, _targets(store, args), verifier=args.verifier, workers=args.workers
    )
    print(json.dumps(counts))
    return 0


def _monte_carlo(store: Any, args: argparse.Namespace) -> int:
    from .montecarlo import MonteCarloConfig, label_trajectory

    if not args.model:
        raise PrmError("--monte-carlo needs --model DIR (a local transformers model directory)")
    from rl.engines.hf import HFEngine

    engine = HFEngine.from_pretrained(args.model)
    config = MonteCarloConfig(
        k=args.k,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        verifier=args.verifier,
        workers=args.workers,
    )
    ids = _targets(store, args, with_gold=True)
    if not ids:
        raise PrmError(
            "no selected trajectory has a problem with a gold answer to grade continuations against"
        )
    labelled = 0
    with _progress("monte-carlo", len(ids)) as advance:
        for trajectory_id in ids:
            labelled += len(
                label_trajectory(
                    store, trajectory_id, engine, config, annotator_id=f"hf:{args.model}"
                ).events
            )
            advance(1)
    print(
        f"{labelled} Monte-Carlo labels on {len(ids)} trajectories (skipped those without a gold "
        "answer)"
    )
    return 0


@_guard
def cmd_show(args: argparse.Namespace) -> int:
    """Show a trajectory, the disagreements, or the two warned-about cases."""
    with _open(args) as store:
        if args.disagreements:
            rows = [
                {
                    "trajectory": store.trajectory(t).hash,
                    "step": i,
                    "current": label.value,
                    "labels": [f"{e.annotator_kind}:{e.annotator_id}={e.value}" for e in events],
                }
                for t, i, label, events in store.disagreements()
            ]
            return _print(rows, args.json)
        if args.cases:
            rows = {
                "correct_process_wrong_answer": [
                    store.trajectory(t).hash for t in store.correct_process_wrong_answer()
                ],
                "right_answer_wrong_step": [
                    store.trajectory(t).hash for t in store.right_answer_wrong_step()
                ],
            }
            print(json.dumps(rows, indent=2))
            return 0
        if not args.trajectory:
            raise PrmError("give a trajectory id or hash prefix, or --disagreements / --cases")
        _show_trajectory(store, store.trajectory_id(args.trajectory), args)
    return 0


def _show_trajectory(store: Any, trajectory_id: int, args: argparse.Namespace) -> None:
    from .exporters import full_document

    doc = full_document(store, trajectory_id)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    print(f"problem: {doc['problem']['text']}\n  gold answer: {doc['problem']['gold_answer']}")
    traj = doc["trajectory"]
    print(
        f"trajectory {traj['hash'][:19]} by {traj['generator']}; first wrong step: "
        f"{store.first_wrong_step(trajectory_id)}"
    )
    for step in doc["steps"]:
        current = step["current"]
        mark = " ." if current is None else {1: " +", 0: " 0", -1: " -"}[current["value"]]
        print(f"[{step['index']}]{mark} {step['text']}")
        if args.events:
            for e in step["events"]:
                print(
                    f"       {e['annotator_kind']}:{e['annotator_id']} "
                    f"{e['value_kind']}={e['value']}"
                    f"{' ' + e['error_type'] if e['error_type'] else ''} at {e['created_at']}"
                )
    for verdict in doc["final_verdicts"]:
        print(
            f"final verdict {verdict['verifier']}: {verdict['status']} ({verdict['final_answer']})"
        )


def _print(rows: list, as_json: bool) -> int:
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            print(row)
    return 0
