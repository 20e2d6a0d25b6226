"""The learning curve of a seeded GRPO run on CPU: every step's metrics, timings left out.

The run is the acceptance test's (``tests/rl/test_rl_learning.py``): a tiny 2-layer Llama over a
13-character tokenizer, the ``math@1`` verifier over four one-digit tasks, 40 steps from seed 0.
Two checkouts that train the same way write the same file; ``compare_trees.py`` runs it in both
and counts the values that differ (``values.differ``), so a refactor shows that the curve did not
move.

Run: ``.venv/bin/python tests/bench/learning_curve.py``; writes
``tests/bench/results/learning_curve.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "rl"))

TIMING = ("t_", "tokens_per_s", "elapsed", "seconds")


def run(steps: int) -> list[dict]:
    from rl.tiny import make_tiny_model
    from rl.trainer import GRPOTrainer
    from rl_test_envs import DIGITS_ALPHABET
    from test_rl_learning import learning_config

    with tempfile.TemporaryDirectory() as tmp:
        model = make_tiny_model(
            Path(tmp) / "model", alphabet=DIGITS_ALPHABET, hidden_size=32, num_layers=2
        )
        cfg = learning_config(str(model), Path(tmp) / "run", steps=steps)
        history = GRPOTrainer(cfg).train()
    return [
        {k: v for k, v in sorted(m.items()) if not any(k.startswith(t) or t in k for t in TIMING)}
        for m in history
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests/bench/results/learning_curve.json"
    )
    args = parser.parse_args()
    steps = run(args.steps)
    rewards = [m["reward_mean"] for m in steps]
    report = {
        "benchmark": "seeded GRPO learning curve (tests/rl/test_rl_learning.py's run)",
        "steps": steps,
        "reward_first": rewards[0],
        "reward_last10_mean": sum(rewards[-10:]) / min(10, len(rewards)),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"reward {rewards[0]:.3f} -> {report['reward_last10_mean']:.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
