"""Generate the bundled arithmetic set: sums, differences and products a small model can learn from.

Two splits with no problem in common (``3 + 5`` and ``5 + 3`` count as one; every operation is held
out in the same share): ``arith_train.jsonl`` for training and ``arith_heldout.jsonl``
for evaluation (each with its own ``<stem>.manifest.json``). Each row: ``id``, ``prompt`` (a system
and a user chat message, so ``chat_template=True`` renders it for an instruct model), ``reference =
{"answer": "<integer>"}`` for ``math@2``, ``solution`` (the worked line ending in ``\\boxed{...}``)
and ``meta`` (operation, split). Same seed, same bytes.

SmolLM2-135M-Instruct answers about 30% of the held-out split at temperature 0 within 96 new
tokens (``tests/bench/bench_real_model.py`` measures it): hard enough to leave room, easy enough
for GRPO's groups to hold both passes and failures.

    python datasets/generate_arith.py [--seed 0] [--train 2000] [--heldout 400] [--out
    datasets/arith]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from envs.bundled import datasets_dir, write_task_set

VERSION = 1
SYSTEM = "Answer the question. End with the final answer in \\boxed{}."
ASK = ("What is {a} {op} {b}?",)


OPS = {"add": "+", "sub": "-", "mul": "*"}


def space(op: str) -> list[tuple[int, int]]:
    """Every distinct problem of an operation: sums and differences of 1..30 (``a >= b`` for
    differences), products of 2..9; ``3 + 5`` and ``5 + 3`` are one problem (stored with the smaller
    operand first)."""
    if op == "mul":
        return [(a, b) for a in range(2, 10) for b in range(a, 10)]
    if op == "sub":
        return [(a, b) for a in range(1, 31) for b in range(1, a + 1)]
    return [(a, b) for a in range(1, 31) for b in range(a, 31)]


def answer(op: str, a: int, b: int) -> int:
    return a + b if op == "add" else a - b if op == "sub" else a * b


def row(index: int, split: str, op: str, a: int, b: int, rng: random.Random) -> dict:
    if op != "sub" and rng.random() < 0.5:  # either order of a commutative problem, as asked
        a, b = b, a
    expression, value = f"{a} {OPS[op]} {b}", answer(op, a, b)
    question = rng.choice(ASK).format(a=a, op=OPS[op], b=b)
    return {
        "id": f"arith-{split}-{index:04d}",
        "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        "reference": {"answer": str(value)},
        "solution": f"{expression} = {value}. The answer is $\\boxed{{{value}}}$.",
        "meta": {"op": op, "split": split},
    }


def generate(seed: int, train: int, heldout: int) -> tuple[list[dict], list[dict]]:
    """Held-out problems: the same share of every operation's problems, drawn without repeats;
    training problems: drawn at random from all the others (so both splits mix the operations alike;
    training problems repeat; no held-out problem ever appears in training)."""
    rng = random.Random(seed)
    pools = {op: space(op) for op in OPS}
    total = sum(len(p) for p in pools.values())
    if not 0 < heldout < total // 2:
        raise SystemExit(
            f"--heldout must be in [1, {total // 2 - 1}] (there are {total} distinct problems)"
        )
    held, rest = [], []
    for op, pool in pools.items():
        rng.shuffle(pool)
        take = max(1, round(heldout * len(pool) / total))
        held += [(op, a, b) for a, b in pool[:take]]
        rest += [(op, a, b) for a, b in pool[take:]]
    rng.shuffle(held)
    heldout_rows = [row(i, "heldout", op, a, b, rng) for i, (op, a, b) in enumerate(held[:heldout])]
    train_rows = [row(i, "train", *rng.choice(rest), rng) for i in range(train)]
    return train_rows, heldout_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--heldout", type=int, default=400)
    parser.add_argument("--out", type=Path, default=datasets_dir() / "arith")
    args = parser.parse_args(argv)
    train, heldout = generate(args.seed, args.train, args.heldout)
    for rows, stem in ((train, "arith_train"), (heldout, "arith_heldout")):
        manifest = write_task_set(
            rows,
            args.out,
            f"{stem}.jsonl",
            generator="datasets/generate_arith.py",
            version=VERSION,
            seed=args.seed,
            manifest_name=f"{stem}.manifest.json",
        )
        print(
            f"wrote {manifest['count']} tasks to {args.out / manifest['file']} (sha256 "
            f"{manifest['sha256'][:12]})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
