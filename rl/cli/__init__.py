"""The ``rlvr`` command line: this root mounts the subcommands of every package.

rl's own commands live beside it (:mod:`.train`, :mod:`.eval`, :mod:`.export`, :mod:`.regrade`);
the other packages' commands live next to the code they drive (``verifiers.cli``, ``sandbox.cli``,
``envs.cli``, ``envs.quarantine.cli``, ``rl.prm.cli``).

Each mounted module exposes ``add_commands(subparsers)``; its subcommands set ``func`` on the
parsed namespace, which returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

#: Modules that contribute subcommands, in the order ``rlvr --help`` lists them.
MOUNTS = (
    "verifiers.cli",  # grade, verifiers
    "sandbox.cli",  # sandbox build-image ...
    "envs.cli",  # envs
    "envs.quarantine.cli",  # quarantine add|list|check|remove
    "rl.cli.train",  # train
    "rl.cli.eval",  # eval, model convert
    "rl.prm.cli",  # prm import|export|stats|annotate|show
    "rl.cli.export",  # export sft
    "rl.cli.regrade",  # regrade
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlvr", description="Verifiable rewards: grade, train, label."
    )
    parser.add_argument("--version", action="version", version=f"rlvr {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in MOUNTS:
        if _exists(module_name):
            importlib.import_module(module_name).add_commands(sub)
    return parser


def _version() -> str:
    """The installed distribution's version (``unknown`` when run from a checkout that was never
    installed)."""
    from importlib import metadata

    try:
        return metadata.version("rlvr")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rlvr ... | head`: the reader went away, which is not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
