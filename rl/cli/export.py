"""``rlvr export sft``: rejection-sampling SFT data from rollout records or ``rlvr eval`` output.

    rlvr export sft runs/grpo/rollouts.jsonl -o sft.jsonl                # best-of-n: one per prompt
    rlvr export sft runs/grpo/rollouts/ eval.jsonl -o sft.parquet --max-per-prompt 4
    rlvr export sft runs/grpo/rollouts.jsonl -o sft.jsonl --quarantine evals/isolation

The quarantine gate is always applied (``--quarantine``, default ``$RLVR_QUARANTINE_DIR`` or
``.rlvr/quarantine``); ``<output>.manifest.json`` counts what each filter removed.
"""

from __future__ import annotations

import argparse
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="export training data from recorded runs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="export_kind", metavar="KIND")
    sft = kinds.add_parser(
        "sft",
        help="best-of-n passing completions as chat-format SFT data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sft.add_argument(
        "inputs", nargs="+", help="rollouts.jsonl, a rollouts/ Parquet folder, or rlvr eval JSONL"
    )
    sft.add_argument("-o", "--output", required=True, help="output file: .jsonl or .parquet")
    sft.add_argument(
        "--max-per-prompt", type=int, default=1, help="completions kept per prompt (default 1)"
    )
    sft.add_argument(
        "--min-reward",
        type=float,
        default=None,
        help="keep graded completions with reward >= this (default: the final verdict passed)",
    )
    sft.add_argument(
        "--dedup",
        choices=("normalised", "exact"),
        default="normalised",
        help="how equal completions of a prompt are recognised (default normalised)",
    )
    sft.add_argument(
        "--format",
        choices=("messages", "prompt-completion"),
        default="messages",
        help="row format (default messages)",
    )
    sft.add_argument(
        "--quarantine", default="auto", help="isolation-list folder (default: the default folder)"
    )
    sft.add_argument("--run", help="run name for the lineage (default: the input's folder name)")
    sft.set_defaults(func=run_export_sft)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_export_sft(args: argparse.Namespace) -> int:
    from envs.errors import EnvError

    from ..errors import RLError
    from ..sft_export import SFTExportConfig, export_sft

    try:
        config = SFTExportConfig(
            args.max_per_prompt, args.min_reward, args.dedup, args.format, args.run
        )
        result = export_sft(args.inputs, args.output, config, quarantine=args.quarantine)
    except (RLError, EnvError, OSError, ImportError) as exc:
        print(f"rlvr export sft: {exc}", file=sys.stderr)
        return 2
    m = result.manifest
    removed = ", ".join(f"{name} {n}" for name, n in m["removed"].items() if n) or "nothing"
    print(
        f"wrote {m['retained']} rows for {m['prompts_retained']} of {m['prompts']} prompts to "
        f"{args.output} (from {m['generated']} completions, sample rate "
        f"{m['effective_sample_rate']:.3f}; removed: {removed})"
    )
    for source in m["inputs"]:
        for why in source["malformed"][:5]:
            print(f"warning: skipped {why}", file=sys.stderr)
    if m["retained"] == 0 and m["removed"]["ungraded"] == m["generated"]:
        print(
            "warning: no completion carries a verdict (records written before verdicts were "
            "recorded?)",
            file=sys.stderr,
        )
    if "note" in m["quarantine"]:
        print(f"warning: {m['quarantine']['note']}", file=sys.stderr)
    print(f"manifest: {args.output}.manifest.json")
    return 0
