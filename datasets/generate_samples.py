"""Generate the sample grading file used by the main job (``bash .ci/main``).

``datasets/samples/grade_sample.jsonl`` holds ``rlvr grade`` input records for every built-in
verifier: for each bundled task set, a few reference solutions (which pass) and corrupted ones
(which do not), plus a few hand-written edge cases (no final answer, malformed JSON, a hedged
answer). Rows are drawn from the bundled sets with a seeded RNG, so the same seed gives the
same bytes; a manifest records generator, version, seed, count and sha256. Version 2 grades with the
latest verifier versions (``math@2``, ``code@2``, ``json_schema@2``, ``tool_call@2``).

    python datasets/generate_samples.py [--seed 0] [--per-set 6]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from envs.bundled import write_task_set

VERSION = 2
ROOT = Path(__file__).resolve().parent
SETS = {  # verifier spec -> bundled task file
    "math@2": ROOT / "math" / "math_tasks.jsonl",
    "code@2": ROOT / "code" / "python_tasks.jsonl",
    "json_schema@2": ROOT / "json" / "json_tasks.jsonl",
    "xml_schema@1": ROOT / "xml" / "xml_tasks.jsonl",
    "tool_call@2": ROOT / "tools" / "tool_tasks.jsonl",
}
EDGE_CASES = [
    ("math@2", "I am not sure.", {"answer": "12"}),
    ("math@2", "It is either \\boxed{3} or \\boxed{4}.", {"answer": "3"}),
    ("math@2", "The answer is \\boxed{\\frac{1}{2}}", {"answer": "0.5"}),
    (
        "json_schema@2",
        '```json\n{"name": "Ada", "age": "unknown"}\n```',
        {
            "schema": {
                "type": "object",
                "properties": {"age": {"type": "integer"}},
                "required": ["name", "age"],
            }
        },
    ),
    ("json_schema@2", '{"name": "Ada", ', {"schema": {"type": "object"}}),
    ("xml_schema@1", "<a><b>1</b></a>", {"dtd": "<!ELEMENT a (b)> <!ELEMENT b (#PCDATA)>"}),
    (
        "code@2",
        "```python\ndef add(a, b):\n    return a - b\n```",
        {
            "language": "python",
            "entry_point": "add",
            "tests": "assert add(1, 2) == 3\nassert add(0, 0) == 0\n",
        },
    ),
]


def corrupt(spec: str, solution: str) -> str:
    """A plausible wrong answer for each kind of task."""
    if spec == "math@2":
        return solution.replace("\\boxed{", "\\boxed{1+", 1)
    if spec == "code@2":
        return solution.replace("return ", "return None and ", 1)
    if spec == "json_schema@2":
        return solution.replace("{", "[", 1)
    if spec == "xml_schema@1":
        return solution.replace("<", "<wrong", 2)
    return "I cannot call any tool for this."


def build(seed: int, per_set: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for spec, path in SETS.items():
        tasks = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for i, task in enumerate(rng.sample(tasks, per_set)):
            wrong = i % 3 == 2
            response = corrupt(spec, task["solution"]) if wrong else task["solution"]
            rows.append(
                {
                    "id": f"{task['id']}{'-corrupted' if wrong else ''}",
                    "verifier": spec,
                    "response": response,
                    "reference": task["reference"],
                }
            )
    for n, (spec, response, reference) in enumerate(EDGE_CASES):
        rows.append(
            {"id": f"edge-{n}", "verifier": spec, "response": response, "reference": reference}
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-set", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "samples")
    args = parser.parse_args()
    manifest = write_task_set(
        build(args.seed, args.per_set),
        args.out,
        "grade_sample.jsonl",
        generator="datasets/generate_samples.py",
        version=VERSION,
        seed=args.seed,
    )
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
