"""``rlvr train``: run the GRPO trainer from flags or a config file (flags override the file).

Every :class:`~rl.config.GRPOConfig` field is a flag (``group_size`` -> ``--group-size``)::

    rlvr train --env rlvr/Math-v1 --model ./my-model --loss grpo --steps 200 --lr 1e-6
    rlvr train --config run.toml --lr 3e-6 --resume

On several devices, start one process per device with ``torchrun`` (NCCL on GPUs, gloo on CPU);
each rank samples ``prompts_per_step / N`` prompts with its own rollout engine and only rank 0
writes::

    torchrun --nproc-per-node 8 -m rl.cli train --config run.toml
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from typing import Any

from .. import distributed as dist
from ..config import GRPOConfig, load_config, parse_override
from ..errors import RLError


def add_commands(sub: Any) -> None:
    """Add the ``train`` subcommand to the ``rlvr`` root parser."""
    parser = sub.add_parser(
        "train",
        help="train a policy with GRPO (and variants) on an environment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", help="TOML or YAML file with GRPOConfig fields (top level or [grpo])"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in output_dir"
    )
    for f in dataclasses.fields(GRPOConfig):
        doc = _field_doc(f.name)
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=None,
            metavar="VALUE",
            help=f"{doc} (default: {_default(f)})",
        )
    parser.set_defaults(func=run_train)


def config_from_args(args: argparse.Namespace) -> GRPOConfig:
    """The config a parsed ``rlvr train`` command line describes."""
    overrides = {
        f.name: parse_override(f.name, getattr(args, f.name))
        for f in dataclasses.fields(GRPOConfig)
        if getattr(args, f.name, None) is not None
    }
    if args.config:
        return load_config(args.config, overrides)
    return GRPOConfig(**overrides)


def run_train(args: argparse.Namespace) -> int:
    """Entry point of ``rlvr train``; returns the exit code."""
    config, joined, main, finished = None, False, True, False
    try:
        config = config_from_args(args)
        joined = dist.init(config.device)  # under torchrun: this process is one rank of the run
        main = dist.is_main()
        from ..trainer import GRPOTrainer

        history = GRPOTrainer(config, resume=args.resume).train()
        finished = True
    except (RLError, FileNotFoundError, ImportError) as exc:
        print(f"rlvr train: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        where = f" are in {config.output_dir}" if config is not None else ""
        print(
            f"rlvr train: interrupted; the metrics and records of finished steps{where}; continue "
            "from the last "
            "checkpoint with --resume",
            file=sys.stderr,
        )
        return 130
    finally:
        if joined:
            # after an error the other ranks may never reach the barrier
            dist.shutdown(wait=finished)
    if not main:
        return 0  # only rank 0 reports
    if history:
        last = history[-1]
        print(
            f"done: {len(history)} steps, last reward_mean {last['reward_mean']:.4f}, metrics in "
            f"{config.output_dir}"
        )
    else:
        print(
            f"nothing to do: the run in {config.output_dir} is already at steps={config.steps}; "
            "raise --steps to train further"
        )
    return 0


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def _field_doc(name: str) -> str:
    """The docstring under a GRPOConfig field (read from the source), for ``--help``."""
    return _field_docs().get(name, "").replace("%", "%%")


@functools.cache
def _field_docs() -> dict[str, str]:
    """Every GRPOConfig field's docstring, its whitespace collapsed to single spaces."""
    import ast
    import inspect
    import textwrap

    body = ast.parse(textwrap.dedent(inspect.getsource(GRPOConfig))).body[0].body
    docs = {}
    for field, after in zip(body, body[1:]):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
            value = getattr(after, "value", None)
            if isinstance(after, ast.Expr) and isinstance(value, ast.Constant):
                docs[field.target.id] = " ".join(str(value.value).split())
    return docs
