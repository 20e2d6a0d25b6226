"""``rlvr envs``: list the registered text environments with their pinned verifier and tasks.

>>> import argparse
>>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers()
>>> add_commands(sub)
>>> parser.parse_args(["envs"]).func.__name__
'run_envs'
"""

from __future__ import annotations

import argparse
import json
import sys

import gymnasium as gym


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "envs",
        help="list registered rlvr environments",
        description="List the registered text environments (id, kind, verifier, tasks).",
    )
    parser.add_argument(
        "--namespace", default="rlvr", help="namespace to list ('all' for every text env)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run_envs)


def run_envs(args: argparse.Namespace) -> int:
    import envs
    from envs.registration import ENTRY_POINTS

    kinds = {entry: kind for kind, entry in ENTRY_POINTS.items()}
    namespace = None if args.namespace == "all" else args.namespace
    rows = []
    for env_id in envs.registered_ids(namespace):
        spec = gym.spec(env_id)
        tasks = spec.kwargs.get("tasks")
        rows.append(
            {
                "id": env_id,
                "kind": kinds[spec.entry_point],
                "verifier": spec.kwargs.get("verifier"),
                "tasks": tasks if isinstance(tasks, str) else type(tasks).__name__,
            }
        )
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['id']:<28} {row['kind']:<17} {row['verifier']:<16} {row['tasks']}")
    if not rows:
        print(f"no environments registered in namespace {args.namespace!r}", file=sys.stderr)
    return 0
