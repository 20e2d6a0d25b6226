"""Seeded generator of a labelled, mixed math-grading workload (GRPO-like: 8 responses per gold).

Every item carries a label known by construction: the response's final answer is either an
equivalent rewriting of the gold (``label=True``) or a different value (``label=False``).
Mix (by gold): integers 45%, decimals 8%, fractions 14%, radicals and pi 10%, polynomials 7%,
intervals / points / sets 6%, multiple choice 5%, text 2%, equations 3%; plus a few hostile
answers (power towers, huge factorials, deep nesting; 0.4% of items, always ``label=False``).

>>> items = generate(16, seed=1)
>>> len(items), sorted(items[0])
(16, ['kind', 'label', 'reference', 'response'])
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable

GROUP = 8
HOSTILE = (
    "9^{9^{9^{9}}}",
    "10^{10^{10}}",
    "100000000!",
    "(" * 3000 + "1" + ")" * 3000,
    "2^{2^{100}}",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def generate(
    count: int = 5000, seed: int = 0, hostile_fraction: float = 0.004
) -> list[dict[str, Any]]:
    """``count`` items ``{reference, response, label, kind}``, deterministic for a seed."""
    rng = random.Random(seed)
    kinds = [
        (_integer, 45),
        (_decimal, 8),
        (_fraction, 14),
        (_radical, 10),
        (_polynomial, 7),
        (_structure, 6),
        (_choice, 5),
        (_text, 2),
        (_equation, 3),
    ]
    makers, weights = zip(*kinds)
    items: list[dict[str, Any]] = []
    hostile_every = int(1 / hostile_fraction) if hostile_fraction > 0 else 0
    while len(items) < count:
        maker: Callable = rng.choices(makers, weights)[0]
        gold, right, wrong = maker(rng)
        for _ in range(GROUP):
            if len(items) >= count:
                break
            if hostile_every and len(items) % hostile_every == hostile_every - 1:
                items.append(_item(rng, gold, rng.choice(HOSTILE), False, "hostile"))
                continue
            label = rng.random() < 0.5
            answer = rng.choice(right if label else wrong)
            items.append(_item(rng, gold, answer, label, maker.__name__.strip("_")))
    return items


def _item(rng: random.Random, gold: str, answer: str, label: bool, kind: str) -> dict[str, Any]:
    return {
        "reference": {"answer": gold},
        "response": _response(rng, answer, kind),
        "label": label,
        "kind": kind,
    }


def _response(rng: random.Random, answer: str, kind: str) -> str:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    steps = [
        f"First, {a} + {b} = {a + b}.",
        f"Then {a} \\times {b} = {a * b}.",
        "Let's think step by step about the constraints.",
        f"Subtracting gives {abs(a - b)}.",
        "We simplify the expression carefully and check the edge cases.",
    ]
    body = " ".join(rng.sample(steps, rng.randint(2, 5)))
    style = rng.random()
    if style < 0.6 or kind in ("structure", "hostile", "polynomial"):
        return f"{body}\nTherefore, the final result is $\\boxed{{{answer}}}$."
    if style < 0.8:
        return f"{body}\nThe answer is ${answer}$."
    return f"{body}\n#### {answer}" if kind == "integer" else f"{body}\nFinal Answer: {answer}"


def _integer(rng):
    v = rng.randint(2, 200000)
    right = [
        str(v),
        f"{v:,}",
        f"{v:,}".replace(",", "{,}"),
        f"{v}.0",
        f"\\${v}",
        f"{v} \\text{{ units}}",
    ]
    wrong = [str(v + 1), str(v - 1), str(v * 10), f"{v + 1:,}", str(rng.randint(2, 200000) + v + 2)]
    return str(v), right, wrong


def _decimal(rng):
    v = rng.randint(101, 99999)
    text = f"{v / 100:.2f}"
    return (
        text,
        [text, text + "0", f"\\frac{{{v}}}{{100}}"],
        [f"{(v + 1) / 100:.2f}", str(v), f"{v / 10:.1f}"],
    )


def _fraction(rng):
    b = rng.randint(2, 30)
    a = rng.choice([n for n in range(1, 3 * b) if math.gcd(n, b) == 1])
    right = [
        f"\\frac{{{a}}}{{{b}}}",
        f"\\dfrac{{{a}}}{{{b}}}",
        f"{a}/{b}",
        f"\\frac{{{2 * a}}}{{{2 * b}}}",
    ]
    if all(p in (2, 5) for p in _primes(b)):
        right.append(repr(a / b))
    wrong = [
        f"\\frac{{{b}}}{{{a}}}" if a != b else "0",
        f"\\frac{{{a + 1}}}{{{b}}}",
        f"{a}/{b + 1}",
    ]
    return f"\\frac{{{a}}}{{{b}}}", right, wrong


def _radical(rng):
    k, m = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7, 10, 11])
    if rng.random() < 0.5:
        return (
            f"{k}\\sqrt{{{m}}}",
            [f"\\sqrt{{{k * k * m}}}", f"{k} \\sqrt{{{m}}}", f"\\sqrt{{{m}}} \\cdot {k}"],
            [f"{k}\\sqrt{{{m + 1}}}", f"{k * math.sqrt(m):.4f}", f"\\sqrt{{{k * m}}}"],
        )
    n = rng.choice([2, 3, 4, 6])
    return (
        f"\\frac{{{k}\\pi}}{{{n}}}",
        [f"\\frac{{{k}}}{{{n}}}\\pi", f"{k}\\pi/{n}"],
        [
            f"{k * math.pi / n:.4f}",
            f"\\frac{{{k}\\pi}}{{{n + 1}}}",
            f"\\frac{{{k + 1}\\pi}}{{{n}}}",
        ],
    )


def _polynomial(rng):
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    gold = f"x^2+{a + b}x+{a * b}"
    return (
        gold,
        [f"(x+{a})(x+{b})", f"(x+{b})(x+{a})", f"x^2 + {a + b}x + {a * b}"],
        [f"(x+{a})(x-{b})", f"(x+{a if a != b else a + 1})^2", f"x^2+{a + b}x-{a * b}"],
    )


def _structure(rng):
    a, b, c = sorted(rng.sample(range(-20, 20), 3))
    shape = rng.choice(("interval", "point", "set"))
    if shape == "interval":
        return (
            f"[{a}, {b})",
            [f"[{a},{b})", f"\\left[{a}, {b}\\right)"],
            [f"({a}, {b})", f"[{a}, {b}]", f"[{a}, {c})"],
        )
    if shape == "point":
        return (
            f"({b}, {a})",
            [f"({b},{a})", f"\\left({b}, {a}\\right)"],
            [f"({a}, {b})", f"({b}, {c})"],
        )
    return (
        f"\\{{{a}, {b}, {c}\\}}",
        [f"\\{{{c}, {a}, {b}\\}}", f"\\{{{b},{c},{a}\\}}"],
        [f"\\{{{a}, {b}\\}}", f"\\{{{a}, {b}, {c + 1}\\}}"],
    )


def _choice(rng):
    letter = rng.choice("ABCDE")
    other = rng.choice([x for x in "ABCDE" if x != letter])
    return f"({letter})", [letter, f"({letter})", f"\\text{{({letter})}}"], [other, f"({other})"]


def _text(rng):
    day = rng.choice(DAYS)
    other = rng.choice([d for d in DAYS if d != day])
    return (
        f"\\text{{{day}}}",
        [day, day.lower(), f"\\text{{{day.upper()}}}"],
        [other, f"\\text{{{other}}}"],
    )


def _equation(rng):
    m, c = rng.sample(range(2, 10), 2)
    return f"y={m}x+{c}", [f"{m}x+{c}", f"y = {c} + {m}x"], [f"{m}x-{c}", f"y={c}x+{m}"]


def _primes(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out
