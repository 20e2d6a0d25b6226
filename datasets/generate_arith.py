"""Generate the bundled arithmetic set: short sums, differences and products a small model can learn from.

Two splits with no question in common: ``arith_train.jsonl`` for training and ``arith_heldout.jsonl``
for evaluation (each with its own ``<stem>.manifest.json``). Each row: ``id``, ``prompt`` (a system
and a user chat message, so ``chat_template=True`` renders it for an instruct model), ``reference =
{"answer": <integer>}`` for ``math@2``, ``solution`` (the worked line ending in ``\\boxed{...}``) and
``meta`` (operation, split). Same seed, same bytes.

SmolLM2-135M-Instruct answers about 30% of the held-out split at temperature 0 within 96 new
tokens (``tests/bench/bench_real_model.py`` measures it): hard enough to leave room, easy enough
for GRPO's groups to hold both passes and failures.

    python datasets/generate_arith.py [--seed 0] [--train 2000] [--heldout 400] [--out datasets/arith]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from envs.bundled import datasets_dir, write_task_set

VERSION = 1
SYSTEM = "Answer the question. End with the final answer in \\boxed{}."
ASK = ("What is {a} {op} {b}?",)


def problem(rng: random.Random) -> tuple[str, int, str]:
    """``(expression, answer, operation)``: a sum or difference of numbers up to 30, or a product up to 9 x 9."""
    op = rng.choice(("add", "sub", "mul"))
    if op == "mul":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        return f"{a} * {b}", a * b, op
    a, b = rng.randint(1, 30), rng.randint(1, 30)
    if op == "sub":
        a, b = max(a, b), min(a, b)
        return f"{a} - {b}", a - b, op
    return f"{a} + {b}", a + b, op


def row(index: int, split: str, expression: str, answer: int, op: str, rng: random.Random) -> dict:
    a, sign, b = expression.split()
    question = rng.choice(ASK).format(a=a, op=sign, b=b)
    return {"id": f"arith-{split}-{index:04d}",
            "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            "reference": {"answer": str(answer)},
            "solution": f"{expression} = {answer}. The answer is $\\boxed{{{answer}}}$.",
            "meta": {"op": op, "split": split}}


def generate(seed: int, train: int, heldout: int) -> tuple[list[dict], list[dict]]:
    """Held-out problems first, all distinct; then training problems, none of which is a held-out one
    (``3 + 5`` and ``5 + 3`` count as the same problem). Training problems may repeat each other."""
    rng, held = random.Random(seed), set()
    heldout_rows: list[dict] = []
    while len(heldout_rows) < heldout:
        expression, answer, op = problem(rng)
        if key(expression) not in held:
            held.add(key(expression))
            heldout_rows.append(row(len(heldout_rows), "heldout", expression, answer, op, rng))
    train_rows: list[dict] = []
    while len(train_rows) < train:
        expression, answer, op = problem(rng)
        if key(expression) not in held:
            train_rows.append(row(len(train_rows), "train", expression, answer, op, rng))
    return train_rows, heldout_rows


def key(expression: str) -> tuple[str, ...]:
    """The problem an expression states, the same for both orders of a commutative operation."""
    a, sign, b = expression.split()
    return (sign, *sorted((a, b))) if sign in "+*" else (sign, a, b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--heldout", type=int, default=400)
    parser.add_argument("--out", type=Path, default=datasets_dir() / "arith")
    args = parser.parse_args(argv)
    train, heldout = generate(args.seed, args.train, args.heldout)
    for rows, stem in ((train, "arith_train"), (heldout, "arith_heldout")):
        manifest = write_task_set(rows, args.out, f"{stem}.jsonl", generator="datasets/generate_arith.py",
                                  version=VERSION, seed=args.seed, manifest_name=f"{stem}.manifest.json")
        print(f"wrote {manifest['count']} tasks to {args.out / manifest['file']} (sha256 {manifest['sha256'][:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
