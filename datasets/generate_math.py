"""Generate the bundled math set: arithmetic and algebra word problems with exact answers.

Each row: ``id``, ``prompt``, ``reference = {"answer": <exact answer>}`` (an integer or a fraction
``p/q``) for ``math@1``, ``solution`` (a short worked solution ending in ``\\boxed{...}``) and
``meta`` (template, difficulty). Same seed, same bytes.

    python datasets/generate_math.py [--seed 0] [--count 300] [--out datasets/math]
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Callable

from envs.bundled import generator_main

VERSION = 1
NAMES = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jules",
    "Kofi",
    "Lena",
]
ITEMS = [
    ("notebook", "notebooks"),
    ("pen", "pens"),
    ("apple", "apples"),
    ("ticket", "tickets"),
    ("mug", "mugs"),
]


def latex(value: Fraction) -> str:
    """Exact answer in LaTeX: ``7`` or ``\\frac{7}{3}`` (sign in front)."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def plain(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def shopping(rng: random.Random) -> tuple[str, str, Fraction]:
    name = rng.choice(NAMES)
    (one_a, many_a), (one_b, many_b) = rng.sample(ITEMS, 2)
    a, b, p, q = rng.randint(2, 12), rng.randint(2, 12), rng.randint(1, 20), rng.randint(1, 20)
    answer = Fraction(a * p + b * q)
    prompt = (
        f"{name} buys {a} {many_a} at ${p} each and {b} {many_b} at ${q} each. "
        f"How many dollars does {name} spend in total?"
    )
    steps = f"{a} \\cdot {p} + {b} \\cdot {q} = {a * p} + {b * q} = {answer}"
    return prompt, steps, answer


def rope(rng: random.Random) -> tuple[str, str, Fraction]:
    length, pieces = rng.randint(5, 60), rng.randint(2, 9)
    answer = Fraction(length, pieces)
    prompt = (
        f"A rope {length} m long is cut into {pieces} pieces of equal length. "
        "How long is each piece, in metres? Give the exact value."
    )
    return prompt, f"\\frac{{{length}}}{{{pieces}}} = {latex(answer)}", answer


def linear(rng: random.Random) -> tuple[str, str, Fraction]:
    a = rng.choice([n for n in range(-9, 10) if n not in (0, 1)])
    b, c = rng.randint(-30, 30), rng.randint(-30, 30)
    answer = Fraction(c - b, a)
    prompt = f"Solve for x: {a}x + {b} = {c}." if b >= 0 else f"Solve for x: {a}x - {-b} = {c}."
    return prompt, f"{a}x = {c} - ({b}) = {c - b}, so x = {latex(answer)}", answer


def ages(rng: random.Random) -> tuple[str, str, Fraction]:
    name_a, name_b = rng.sample(NAMES, 2)
    k, young, years = rng.randint(2, 5), rng.randint(2, 12), rng.randint(1, 10)
    total = k * young + young + 2 * years
    prompt = (
        f"{name_a} is {k} times as old as {name_b}. In {years} years the sum of their ages will be "
        f"{total}. How old is {name_a} now?"
    )
    steps = (
        f"{k}y + y + 2 \\cdot {years} = {total}, so y = {young} "
        f"and {name_a} is {k} \\cdot {young} = {k * young}"
    )
    return prompt, steps, Fraction(k * young)


def speed(rng: random.Random) -> tuple[str, str, Fraction]:
    distance, hours, later = rng.randint(40, 400), rng.randint(2, 7), rng.randint(1, 9)
    answer = Fraction(distance * later, hours)
    prompt = (
        f"A train travels {distance} km in {hours} hours. At the same speed, how many km does it "
        f"travel in {later} hours? Give the exact value."
    )
    return prompt, f"\\frac{{{distance}}}{{{hours}}} \\cdot {later} = {latex(answer)}", answer


def sum_difference(rng: random.Random) -> tuple[str, str, Fraction]:
    small = rng.randint(1, 50)
    large = small + rng.randint(1, 50)
    prompt = (
        f"The sum of two numbers is {large + small} and their difference is {large - small}. "
        "What is the larger number?"
    )
    steps = f"2L = {large + small} + {large - small} = {2 * large}, so L = {large}"
    return prompt, steps, Fraction(large)


def discount(rng: random.Random) -> tuple[str, str, Fraction]:
    price, rate = rng.randint(2, 40) * 5, rng.choice([10, 15, 20, 25, 30, 35, 40, 50])
    answer = Fraction(price * (100 - rate), 100)
    prompt = (
        f"A jacket costs ${price}. It is discounted by {rate}%. "
        "What is the new price in dollars (exact)?"
    )
    return prompt, f"{price} \\cdot \\frac{{{100 - rate}}}{{100}} = {latex(answer)}", answer


def expression(rng: random.Random) -> tuple[str, str, Fraction]:
    a, b, c, d = rng.randint(2, 15), rng.randint(2, 15), rng.randint(1, 40), rng.randint(2, 9)
    answer = Fraction(a * b) - Fraction(c, d)
    prompt = f"Compute exactly: {a} × {b} − {c} ÷ {d}."
    return prompt, f"{a * b} - \\frac{{{c}}}{{{d}}} = {latex(answer)}", answer


def quadratic(rng: random.Random) -> tuple[str, str, Fraction]:
    positive, negative = rng.randint(1, 12), rng.randint(1, 12)
    b, c = negative - positive, positive * negative
    middle = f"+ {b}x " if b > 0 else (f"- {-b}x " if b < 0 else "")
    prompt = f"Find the positive solution of x^2 {middle}- {c} = 0."
    return prompt, f"(x - {positive})(x + {negative}) = 0, so x = {positive}", Fraction(positive)


def pipes(rng: random.Random) -> tuple[str, str, Fraction]:
    a, b = rng.sample(range(2, 13), 2)
    answer = Fraction(a * b, a + b)
    prompt = (
        f"Pipe A fills a tank in {a} hours and pipe B fills it in {b} hours. Working together, how "
        "many "
        "hours do they take to fill the tank? Give the exact value."
    )
    return (
        prompt,
        f"\\frac{{1}}{{{a}}} + \\frac{{1}}{{{b}}} = \\frac{{{a + b}}}{{{a * b}}}, time = "
        f"{latex(answer)}",
        answer,
    )


TEMPLATES: dict[str, Callable[[random.Random], tuple[str, str, Fraction]]] = {
    "shopping": shopping,
    "rope": rope,
    "linear": linear,
    "ages": ages,
    "speed": speed,
    "sum_difference": sum_difference,
    "discount": discount,
    "expression": expression,
    "quadratic": quadratic,
    "pipes": pipes,
}
ALGEBRA = {"linear", "ages", "sum_difference", "quadratic", "pipes"}


def generate(seed: int, count: int) -> list[dict]:
    """``count`` rows, deterministic in ``seed``."""
    rng = random.Random(seed)
    names = sorted(TEMPLATES)
    rows = []
    for index in range(count):
        template = names[index % len(names)]
        prompt, steps, answer = TEMPLATES[template](rng)
        rows.append(
            {
                "id": f"math-{index:04d}",
                "prompt": prompt + " Put the final answer in \\boxed{}.",
                "reference": {"answer": plain(answer)},
                "solution": f"We compute ${steps}$. The answer is $\\boxed{{{latex(answer)}}}$.",
                "meta": {
                    "template": template,
                    "kind": "algebra" if template in ALGEBRA else "arithmetic",
                },
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    return generator_main(
        generate,
        name="math",
        filename="math_tasks.jsonl",
        count=300,
        version=VERSION,
        doc=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
