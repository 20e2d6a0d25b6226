"""Generate ``datasets/code/python_tasks.jsonl``: small Python function tasks for ``code@1``.

Each task has a prompt, an entry point, a correct reference solution and assert-style tests whose
expected values are computed by running that solution here (our own trusted code). Families of
tasks are instantiated with parameters drawn from a seeded RNG, so the output is deterministic::

    python datasets/generate_code_tasks.py --seed 1234 --per-family 4

writes the JSONL and ``python_tasks.manifest.json`` (generator, version, seed, count, sha256).
Each line: ``{"id", "family", "prompt", "entry_point", "solution", "reference"}`` where
``reference`` is ready for ``code@1`` (``{"language": "python", "tests": ...,
"entry_point": ...}``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

VERSION = 1
OUT_DIR = Path(__file__).parent / "code"


def _family(name, doc, template, inputs):
    """A task family: ``template`` is solution source with ``{fn}`` and parameter fields."""
    return {"name": name, "doc": doc, "template": template, "inputs": inputs}


def _ints(rng, n, lo=-20, hi=20):
    return [rng.randint(lo, hi) for _ in range(n)]


def _words(rng, n):
    pool = [
        "apple",
        "river",
        "stone",
        "cloud",
        "tiger",
        "maple",
        "ocean",
        "pixel",
        "quill",
        "ember",
        "lunar",
        "delta",
    ]
    return [rng.choice(pool) for _ in range(n)]


FAMILIES = [
    _family(
        "add_constant",
        "Return x plus {k}.",
        "def {fn}(x):\n    return x + {k}\n",
        lambda rng: [(v,) for v in _ints(rng, 4)],
    ),
    _family(
        "scale_list",
        "Return a new list with every element of xs multiplied by {k}.",
        "def {fn}(xs):\n    return [x * {k} for x in xs]\n",
        lambda rng: [(_ints(rng, rng.randint(0, 5)),) for _ in range(3)],
    ),
    _family(
        "count_char",
        "Count how many times the character {c!r} occurs in s.",
        "def {fn}(s):\n    return s.count({c!r})\n",
        lambda rng: [(" ".join(_words(rng, 3)),) for _ in range(3)],
    ),
    _family(
        "digit_sum",
        "Return the sum of the decimal digits of the non-negative integer n, times {k}.",
        "def {fn}(n):\n    return sum(int(d) for d in str(n)) * {k}\n",
        lambda rng: [(rng.randint(0, 10**6),) for _ in range(4)],
    ),
    _family(
        "is_prime_offset",
        "Return True when n + {k} is a prime number.",
        "def {fn}(n):\n    m = n + {k}\n    if m < 2:\n        return False\n    i = 2\n"
        "    while i * i <= m:\n        if m % i == 0:\n            return False\n        i += 1\n"
        "    return True\n",
        lambda rng: [(rng.randint(0, 60),) for _ in range(5)],
    ),
    _family(
        "fibonacci_mod",
        "Return the n-th Fibonacci number (F(0)=0, F(1)=1) modulo {m}.",
        "def {fn}(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, (a + b) % {m}\n"
        "    return a\n",
        lambda rng: [(rng.randint(0, 90),) for _ in range(4)],
    ),
    _family(
        "reverse_words",
        "Return s with the order of its space-separated words reversed, joined by {sep!r}.",
        "def {fn}(s):\n    return {sep!r}.join(reversed(s.split()))\n",
        lambda rng: [(" ".join(_words(rng, rng.randint(1, 4))),) for _ in range(3)],
    ),
    _family(
        "gcd_scaled",
        "Return {k} times the greatest common divisor of a and b (non-negative integers).",
        "def {fn}(a, b):\n    while b:\n        a, b = b, a % b\n    return a * {k}\n",
        lambda rng: [(rng.randint(0, 500), rng.randint(0, 500)) for _ in range(4)],
    ),
    _family(
        "factorial_mod",
        "Return n! modulo {m}.",
        "def {fn}(n):\n    r = 1\n    for i in range(2, n + 1):\n        r = r * i % {m}\n"
        "    return r % {m}\n",
        lambda rng: [(rng.randint(0, 40),) for _ in range(4)],
    ),
    _family(
        "max_subarray",
        "Return the largest sum of a non-empty contiguous slice of xs, plus {k}.",
        "def {fn}(xs):\n    best = cur = xs[0]\n    for x in xs[1:]:\n"
        "        cur = max(x, cur + x)\n        best = max(best, cur)\n    return best + {k}\n",
        lambda rng: [(_ints(rng, rng.randint(1, 7)),) for _ in range(4)],
    ),
    _family(
        "is_palindrome",
        "Return True when s, lower-cased and ignoring characters other than letters, reads the "
        "same both ways; the answer is inverted when {flip} is True.",
        "def {fn}(s):\n    t = [c for c in s.lower() if c.isalpha()]\n"
        "    return (t == t[::-1]) != {flip}\n",
        lambda rng: [
            (
                rng.choice(
                    ["Level", "A man, a plan", "noon", "abcba", "python", "Was it a rat I saw"]
                ),
            )
            for _ in range(4)
        ],
    ),
    _family(
        "running_sum",
        "Return the list of running sums of xs, each plus {k}.",
        "def {fn}(xs):\n    out, total = [], 0\n    for x in xs:\n        total += x\n"
        "        out.append(total + {k})\n    return out\n",
        lambda rng: [(_ints(rng, rng.randint(0, 6)),) for _ in range(3)],
    ),
    _family(
        "filter_greater",
        "Return the elements of xs greater than {k}, in order.",
        "def {fn}(xs):\n    return [x for x in xs if x > {k}]\n",
        lambda rng: [(_ints(rng, rng.randint(0, 8)),) for _ in range(3)],
    ),
    _family(
        "rotate_string",
        "Rotate s to the left by {k} positions (wrapping around); return s unchanged when empty.",
        "def {fn}(s):\n    if not s:\n        return s\n    r = {k} % len(s)\n"
        "    return s[r:] + s[:r]\n",
        lambda rng: [(rng.choice(["", "abc", "rotation", "x", "hello world"]),) for _ in range(4)],
    ),
    _family(
        "dedupe",
        "Return xs without repeated elements, keeping first occurrences in order, then append {k}.",
        "def {fn}(xs):\n    seen, out = set(), []\n    for x in xs:\n        if x not in seen:\n"
        "            seen.add(x)\n            out.append(x)\n    return out + [{k}]\n",
        lambda rng: [(_ints(rng, rng.randint(0, 8), 0, 5),) for _ in range(3)],
    ),
    _family(
        "triangular",
        "Return the sum 1 + 2 + ... + n, times {k} (0 for n = 0).",
        "def {fn}(n):\n    return n * (n + 1) // 2 * {k}\n",
        lambda rng: [(rng.randint(0, 1000),) for _ in range(4)],
    ),
    _family(
        "caesar",
        "Shift every lowercase letter of s forward by {k} places in the alphabet (wrapping); keep "
        "other characters.",
        "def {fn}(s):\n    return ''.join(chr((ord(c) - 97 + {k}) % 26 + 97) if 'a' <= c <= 'z' "
        "else c for c in s)\n",
        lambda rng: [(" ".join(_words(rng, 2)) + "!",) for _ in range(3)],
    ),
    _family(
        "count_vowels",
        "Count the vowels (a, e, i, o, u, case-insensitive) in s, plus {k}.",
        "def {fn}(s):\n    return sum(c in 'aeiou' for c in s.lower()) + {k}\n",
        lambda rng: [(" ".join(_words(rng, 3)).upper(),) for _ in range(3)],
    ),
    _family(
        "to_base",
        "Return the representation of the non-negative integer n in base {b} as a string of "
        "digits.",
        "def {fn}(n):\n    if n == 0:\n        return '0'\n    digits = ''\n    while n:\n"
        "        digits = str(n % {b}) + digits\n        n //= {b}\n    return digits\n",
        lambda rng: [(rng.randint(0, 5000),) for _ in range(4)],
    ),
    _family(
        "flatten_once",
        "Flatten a list of lists by one level, then drop elements equal to {k}.",
        "def {fn}(xss):\n    return [x for xs in xss for x in xs if x != {k}]\n",
        lambda rng: [
            ([_ints(rng, rng.randint(0, 3), 0, 4) for _ in range(rng.randint(0, 3))],)
            for _ in range(3)
        ],
    ),
    _family(
        "merge_sorted",
        "Merge two sorted lists into one sorted list, then keep only elements >= {k}.",
        "def {fn}(a, b):\n    return [x for x in sorted(a + b) if x >= {k}]\n",
        lambda rng: [
            (sorted(_ints(rng, rng.randint(0, 4))), sorted(_ints(rng, rng.randint(0, 4))))
            for _ in range(3)
        ],
    ),
    _family(
        "pair_count",
        "Count pairs of indices i < j with xs[i] + xs[j] == {k}.",
        "def {fn}(xs):\n    return sum(1 for i in range(len(xs)) for j in range(i + 1, len(xs)) if "
        "xs[i] + xs[j] == {k})\n",
        lambda rng: [(_ints(rng, rng.randint(0, 7), -5, 10),) for _ in range(4)],
    ),
    _family(
        "second_largest",
        "Return the second largest distinct value of xs, or {k} when there is none.",
        "def {fn}(xs):\n    vals = sorted(set(xs))\n    return vals[-2] if len(vals) >= 2 else "
        "{k}\n",
        lambda rng: [(_ints(rng, rng.randint(0, 6), 0, 9),) for _ in range(4)],
    ),
    _family(
        "word_freq",
        "Return a dict mapping each word of s (split on spaces) of length >= {k} to its count.",
        "def {fn}(s):\n    out = {{}}\n    for w in s.split():\n        if len(w) >= {k}:\n"
        "            out[w] = out.get(w, 0) + 1\n    return out\n",
        lambda rng: [(" ".join(_words(rng, rng.randint(0, 5)) + ["a", "to"]),) for _ in range(3)],
    ),
    _family(
        "transpose",
        "Return the transpose of a rectangular matrix given as a list of rows, as a list of "
        "tuples, with {k} added to every entry.",
        "def {fn}(m):\n    return [tuple(v + {k} for v in col) for col in zip(*m)]\n",
        lambda rng: [([_ints(rng, 3, 0, 9) for _ in range(rng.randint(1, 3))],) for _ in range(3)],
    ),
    _family(
        "collatz_steps",
        "Return how many Collatz steps (n -> n/2 if even, else 3n+1) it takes n >= 1 to reach 1, "
        "plus {k}.",
        "def {fn}(n):\n    steps = 0\n    while n != 1:\n"
        "        n = n // 2 if n % 2 == 0 else 3 * n + 1\n        steps += 1\n"
        "    return steps + {k}\n",
        lambda rng: [(rng.randint(1, 200),) for _ in range(4)],
    ),
    _family(
        "clamp",
        "Clamp every element of xs to the range [{lo}, {hi}].",
        "def {fn}(xs):\n    return [min(max(x, {lo}), {hi}) for x in xs]\n",
        lambda rng: [(_ints(rng, rng.randint(0, 6)),) for _ in range(3)],
    ),
    _family(
        "chunk",
        "Split xs into consecutive chunks of length {k} (the last may be shorter).",
        "def {fn}(xs):\n    return [xs[i:i + {k}] for i in range(0, len(xs), {k})]\n",
        lambda rng: [(_ints(rng, rng.randint(0, 9)),) for _ in range(3)],
    ),
    _family(
        "sum_squares",
        "Return the sum of the squares of the integers from 1 to n, modulo {m}.",
        "def {fn}(n):\n    return sum(i * i for i in range(1, n + 1)) % {m}\n",
        lambda rng: [(rng.randint(0, 300),) for _ in range(4)],
    ),
    _family(
        "title_words",
        "Capitalise the first letter of every word of s (words separated by single spaces), and "
        "append {suffix!r}.",
        "def {fn}(s):\n    return ' '.join(w[:1].upper() + w[1:] for w in s.split(' ')) + "
        "{suffix!r}\n",
        lambda rng: [(" ".join(_words(rng, rng.randint(1, 3))),) for _ in range(3)],
    ),
]


def _params(rng: random.Random) -> dict:
    lo = rng.randint(-10, 0)
    return {
        "k": rng.randint(1, 9),
        "m": rng.choice([7, 97, 1000, 10007, 1_000_000_007]),
        "c": rng.choice("aeiorst"),
        "sep": rng.choice([" ", "-", ",", " | "]),
        "flip": rng.choice([False, True]),
        "b": rng.randint(2, 9),
        "lo": lo,
        "hi": lo + rng.randint(1, 15),
        "suffix": rng.choice(["", "!", "."]),
    }


def make_task(family: dict, index: int, variant: int, rng: random.Random) -> dict:
    params = _params(rng)
    fn = f"{family['name']}_{variant}"
    solution = family["template"].format(fn=fn, **params)
    namespace: dict = {}
    exec(compile(solution, f"<{fn}>", "exec"), namespace)  # our own reference solution
    func = namespace[fn]
    asserts = []
    for args in family["inputs"](rng):
        expected = func(*args)
        call = f"{fn}({', '.join(repr(a) for a in args)})"
        asserts.append(f"assert {call} == {expected!r}")
    doc = family["doc"].format(**params)
    signature = solution.splitlines()[0]
    prompt = f"Write a Python function `{signature[4:-1]}`. {doc}"
    return {
        "id": f"pyfn-{index:03d}",
        "family": family["name"],
        "prompt": prompt,
        "entry_point": fn,
        "solution": solution,
        "reference": {"language": "python", "tests": "\n".join(asserts) + "\n", "entry_point": fn},
    }


def generate(seed: int, per_family: int) -> list[dict]:
    rng = random.Random(seed)
    tasks = []
    for variant in range(per_family):
        for family in FAMILIES:
            tasks.append(make_task(family, len(tasks), variant, rng))
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--per-family", type=int, default=4)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "python_tasks.jsonl")
    args = parser.parse_args()
    tasks = generate(args.seed, args.per_family)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(t, sort_keys=True) + "\n" for t in tasks).encode()
    args.out.write_bytes(data)
    manifest = {
        "generator": "datasets/generate_code_tasks.py",
        "version": VERSION,
        "seed": args.seed,
        "per_family": args.per_family,
        "families": len(FAMILIES),
        "count": len(tasks),
        "file": args.out.name,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    args.out.with_name(args.out.stem + ".manifest.json").write_text(
        json.dumps(manifest, indent=2) + "\n"
    )
    print(f"wrote {len(tasks)} tasks to {args.out}")


if __name__ == "__main__":
    main()
