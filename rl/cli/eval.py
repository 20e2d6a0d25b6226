"""``rlvr eval`` (score a model on an environment's tasks) and ``rlvr model convert`` (GGUF ->
checkpoint).

::

    rlvr eval --model models/smollm2 --env rlvr/ArithHeldout-v0 --chat-template true --tasks 200 \\
        --out v.jsonl
    rlvr eval --model models/smollm2 --chat-template true --n 8 --k 1,8 --temperature 0.8
    rlvr model convert smollm2 --out models/smollm2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import RLError


def add_commands(sub: Any) -> None:
    """Add ``eval`` and ``model`` to the ``rlvr`` root parser."""
    p = sub.add_parser(
        "eval",
        help="evaluate a model on an environment's tasks (pass@1, pass@k)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="local transformers checkpoint directory")
    p.add_argument(
        "--env", default="rlvr/ArithHeldout-v0", help="environment id (default: %(default)s)"
    )
    p.add_argument(
        "--env-kwargs",
        default="{}",
        help='JSON object for gymnasium.make, e.g. \'{"tasks": "eval.jsonl"}\'',
    )
    p.add_argument(
        "--env-modules", default="envs", help="comma-separated modules that register the env id"
    )
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "hf", "vllm"),
        help="auto: vLLM where installed for the device and able to run the model, else hf",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--n", type=int, default=1, help="samples per task (default: 1)")
    p.add_argument("--k", default=None, help="comma-separated k of pass@k (default: 1 and n)")
    p.add_argument(
        "--temperature", type=float, default=None, help="default: 0 (greedy) for n=1, else 0.8"
    )
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument(
        "--tasks",
        type=int,
        default=None,
        help="evaluate this many tasks, drawn with --seed (default: all)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32, help="tasks per engine call")
    p.add_argument(
        "--chat-template",
        default="false",
        choices=("true", "false"),
        help="render chat prompts with the tokenizer's chat template (as rlvr train's flag; "
        "default false)",
    )
    p.add_argument(
        "--max-turns", type=int, default=8, help="multi-turn environments: policy turns per episode"
    )
    p.add_argument(
        "--vllm-kwargs",
        default="{}",
        help="JSON object of extra vllm.LLM arguments (--engine vllm)",
    )
    p.add_argument("--grading-workers", type=int, default=0)
    p.add_argument("--out", default=None, help="write one JSONL verdict line per sample here")
    p.add_argument("--summary", default=None, help="write the summary as JSON here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_eval)
    m = sub.add_parser(
        "model", help="local model files: convert a GGUF file to a checkpoint directory"
    )
    msub = m.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    c = msub.add_parser(
        "convert", help="GGUF file (or packaged model name) -> transformers checkpoint directory"
    )
    c.add_argument("source", help="a .gguf file, or a packaged model: smollm2")
    c.add_argument("--out", required=True, help="directory to write the checkpoint into")
    c.add_argument("--overwrite", action="store_true")
    c.set_defaults(func=run_convert)


def eval_config(args: argparse.Namespace):
    from ..evaluate import EvalConfig

    ks = tuple(int(k) for k in args.k.split(",") if k) if args.k else tuple(sorted({1, args.n}))
    temperature = (
        args.temperature if args.temperature is not None else (0.0 if args.n == 1 else 0.8)
    )
    return EvalConfig(
        model=args.model,
        env=args.env,
        env_kwargs=_json_object("--env-kwargs", args.env_kwargs),
        env_modules=tuple(m for m in args.env_modules.split(",") if m),
        engine=args.engine,
        device=args.device,
        n=args.n,
        ks=ks,
        temperature=temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        max_turns=args.max_turns,
        tasks=args.tasks,
        seed=args.seed,
        batch_size=args.batch_size,
        chat_template=args.chat_template == "true",
        vllm_kwargs=_json_object("--vllm-kwargs", args.vllm_kwargs),
        grading_workers=args.grading_workers,
        progress=not args.no_progress,
    )


def _json_object(flag: str, text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RLError(f"{flag} takes a JSON object, got {text!r} ({exc})") from exc
    if not isinstance(value, dict):
        raise RLError(f"{flag} takes a JSON object, got {type(value).__name__}")
    return value


def run_eval(args: argparse.Namespace) -> int:
    """Entry point of ``rlvr eval``; prints a summary table, returns the exit code."""
    from ..evaluate import evaluate

    try:
        cfg = eval_config(args)
        # a bad output path fails now, not after the whole run
        for path in (args.out, args.summary):
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        result = evaluate(cfg, output=args.out)
    except (RLError, OSError, ImportError, ValueError) as exc:
        print(f"rlvr eval: {exc}", file=sys.stderr)
        return 2
    _print_summary(result, args.out)
    if args.summary:
        Path(args.summary).write_text(
            json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8"
        )
    return 0


def _print_summary(result: Any, out: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.config['env']}  {result.config['model']}")
    for column in ("tasks", "samples", "ungraded", *(f"pass@{k}" for k in result.pass_at)):
        table.add_column(column, justify="right")
    cells = [
        f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
        for (v, (lo, hi)) in ((result.pass_at[k], result.ci95[k]) for k in result.pass_at)
    ]
    table.add_row(str(len(result.scores)), str(result.samples), str(result.ungraded), *cells)
    console = Console()
    console.print(table)
    if out:
        console.print(f"verdicts: {out}  (95% intervals in brackets)")


def run_convert(args: argparse.Namespace) -> int:
    """Entry point of ``rlvr model convert``."""
    from ..model_files import convert_gguf

    try:
        out = convert_gguf(args.source, args.out, overwrite=args.overwrite)
    except (RLError, ImportError, OSError) as exc:
        print(f"rlvr model convert: {exc}", file=sys.stderr)
        return 2
    print(f"wrote a checkpoint to {out}")
    return 0
