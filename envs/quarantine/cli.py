"""``rlvr quarantine``: register evaluation sets and check training data against them.

    rlvr quarantine add bundled:arith_heldout             # a bundled held-out split
    rlvr quarantine add my_eval.jsonl --name my_eval      # id, prompt, reference[, solution]
    rlvr quarantine list
    rlvr quarantine check train.jsonl --report hits.json  # exit 1 when any task hits
    rlvr quarantine check train.jsonl --drop-to clean.jsonl
    rlvr quarantine remove my_eval

An evaluation set is a bundled split, a JSONL or a Parquet file. The list lives in ``--dir``
(default ``$RLVR_QUARANTINE_DIR``, else ``.rlvr/quarantine``). ``rlvr train`` applies it by
default, and ``rlvr export sft`` always does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "quarantine",
        help="keep evaluation sets out of training data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="quarantine_command", metavar="ACTION")
    add_p = actions.add_parser("add", help="register an evaluation set")
    add_p.add_argument("source", help="JSONL/Parquet file or bundled:NAME")
    add_p.add_argument("--name", help="set name (default: the file's stem or the bundled name)")
    add_p.add_argument("--replace", action="store_true", help="replace a set of the same name")
    add_p.set_defaults(func=_guarded(run_add))
    list_p = actions.add_parser("list", help="show the registered sets")
    list_p.add_argument("--json", action="store_true", help="print the manifest entries as JSON")
    list_p.set_defaults(func=_guarded(run_list))
    remove_p = actions.add_parser("remove", help="unregister a set")
    remove_p.add_argument("name")
    remove_p.set_defaults(func=_guarded(run_remove))
    check_p = actions.add_parser(
        "check", help="match training tasks against the list (exit 1 on hits)"
    )
    check_p.add_argument("source", help="training tasks: JSONL/Parquet file or bundled:NAME")
    check_p.add_argument("--report", help="write the full report (every hit) as JSON here")
    check_p.add_argument("--drop-to", help="write the tasks without hits here (JSONL)")
    check_p.add_argument("--show", type=int, default=20, help="hits to print (default 20)")
    check_p.set_defaults(func=_guarded(run_check))
    for action_p in (add_p, list_p, remove_p, check_p):
        action_p.add_argument(
            "--dir", help="isolation-list folder (default $RLVR_QUARANTINE_DIR or .rlvr/quarantine)"
        )
        action_p.add_argument(
            "--column",
            action="append",
            default=[],
            metavar="FIELD=NAME",
            help="source column for a task field (id, prompt, reference, solution)",
        )
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _guarded(run):
    """Misuse (a bad source, an unknown set, an unwritable path) prints the error and exits 2."""

    def guarded(args: argparse.Namespace) -> int:
        from envs.errors import EnvError

        try:
            return run(args)
        except (EnvError, OSError, UnicodeError) as exc:
            print(f"rlvr quarantine: {exc}", file=sys.stderr)
            return 2

    guarded.__name__ = run.__name__
    return guarded


def run_add(args: argparse.Namespace) -> int:
    entry = _isolation(args).add(
        args.source, name=args.name, columns=_columns(args), replace=args.replace
    )
    print(f"added {entry.name}: {entry.count} tasks from {entry.source} ({entry.sha256[:19]}...)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    iso = _isolation(args)
    sets = iso.sets()
    if args.json:
        print(json.dumps([vars(s) | {"kinds": dict(s.kinds)} for s in sets], indent=2))
        return 0
    if not sets:
        print(f"no sets in {iso.folder}; add one with: rlvr quarantine add FILE")
    for s in sets:
        print(f"{s.name:<24} {s.count:>7} tasks  {s.added_at}  {s.source}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    _isolation(args).remove(args.name)
    print(f"removed {args.name}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from envs.tasks import load_tasks

    iso = _isolation(args)
    tasks = load_tasks(args.source, columns=_columns(args))
    total = sum(s.count for s in iso.sets())
    print(
        f"checking {len(tasks)} tasks against {total} isolated items in {iso.folder} ...",
        file=sys.stderr,
    )
    report = iso.check(tasks)
    print(report.summary(args.show))
    if report.same_as:
        print(f"the whole source is the isolated set {report.same_as!r}")
    if args.report:
        Path(args.report).write_text(
            json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
        )
    if args.drop_to and report.same_as:
        print(f"nothing written to {args.drop_to}: every task belongs to an isolated set")
    elif args.drop_to:
        hit = set(report.hit_ids)
        with open(args.drop_to, "w", encoding="utf-8") as fh:
            for t in tasks:
                if t.id not in hit:
                    prompt = t.prompt if isinstance(t.prompt, str) else [dict(m) for m in t.prompt]
                    row = {
                        "id": t.id,
                        "prompt": prompt,
                        "reference": t.reference,
                        "solution": t.solution,
                        "meta": dict(t.meta),
                    }
                    fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        print(f"wrote {report.kept} tasks without hits to {args.drop_to}")
    return 0 if report.clean and not report.same_as else 1


def _isolation(args: argparse.Namespace):
    from envs.quarantine import IsolationList

    return IsolationList(args.dir)


def _columns(args: argparse.Namespace):
    from envs.errors import EnvConfigError
    from envs.tasks import Columns

    if not args.column:
        return None
    fields = {}
    for item in args.column:
        key, sep, value = item.partition("=")
        if not sep or key not in ("id", "prompt", "reference", "solution", "meta"):
            raise EnvConfigError(
                f"--column {item!r}: expected FIELD=NAME with FIELD one of id, prompt, "
                "reference, solution, meta"
            )
        fields[key] = value
    return Columns(**fields)
