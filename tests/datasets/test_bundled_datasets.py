"""The bundled task sets: regenerated from their seed to the same bytes, every reference solution
passes its environment's verifier, and a corrupted solution fails."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from lxml import etree

import envs
from verifiers import GradeItem, grade_batch
from verifiers.tool_call import parse_tool_calls

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
#: set name -> (generator script, verifiers its environments pin: -v0 and -v1)
SETS = {
    "math": ("generate_math.py", ("math@1", "math@2")),
    "json": ("generate_json.py", ("json_schema@1", "json_schema@2")),
    "xml": ("generate_xml.py", ("xml_schema@1",)),
    "tools": ("generate_tools.py", ("tool_call@1", "tool_call@2")),
    "code": ("generate_code_tasks.py", ("code@1", "code@2")),
    "arith": ("generate_arith.py", ("math@2",)),
    "arith_heldout": ("generate_arith.py", ("math@2",)),
}
#: grading code runs each solution in a sandbox (~0.3 s each): those cases are marked slow
SLOW = {"code"}


def params(names=sorted(SETS)):
    """(set, verifier) for every verifier an environment over the set pins."""
    return [
        pytest.param(n, spec, marks=pytest.mark.slow) if n in SLOW else pytest.param(n, spec)
        for n in names
        for spec in SETS[n][1]
    ]


def regenerate_command(name: str, manifest: dict, out: Path) -> list[str]:
    """Command line that rewrites set ``name`` into ``out`` with the manifest's seed and size."""
    script = [sys.executable, str(DATASETS / SETS[name][0]), "--seed", str(manifest["seed"])]
    if name == "code":  # helper D's generator: size per family, --out names the JSONL file
        return script + [
            "--per-family",
            str(manifest["per_family"]),
            "--out",
            str(out / manifest["file"]),
        ]
    if name.startswith("arith"):  # one generator, two splits: both sizes from their manifests
        sizes = {
            split: envs.bundled.read_manifest(split)["count"]
            for split in ("arith", "arith_heldout")
        }
        return script + [
            "--train",
            str(sizes["arith"]),
            "--heldout",
            str(sizes["arith_heldout"]),
            "--out",
            str(out),
        ]
    return script + ["--count", str(manifest["count"]), "--out", str(out)]


def rows_of(name: str) -> list[dict]:
    return [
        json.loads(line)
        for line in envs.bundled_path(name).read_text(encoding="utf-8").splitlines()
    ]


@pytest.mark.parametrize("name", sorted(SETS))
def test_manifest_describes_the_file(name):
    manifest = envs.bundled.read_manifest(name)
    data = envs.bundled_path(name).read_bytes()
    assert manifest["generator"] == f"datasets/{SETS[name][0]}"
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["count"] == data.count(b"\n") >= 100
    assert {"version", "seed", "file"} <= set(manifest)
    assert len(data) < 2_000_000


@pytest.mark.parametrize("name", sorted(SETS))
def test_generator_reproduces_the_file_from_its_seed(name, tmp_path):
    manifest = envs.bundled.read_manifest(name)
    subprocess.run(regenerate_command(name, manifest, tmp_path), check=True, capture_output=True)
    regenerated = json.loads((tmp_path / envs.bundled.manifest_path(name).name).read_text())
    assert regenerated == manifest
    assert (tmp_path / manifest["file"]).read_bytes() == envs.bundled_path(name).read_bytes()


@pytest.mark.parametrize("name, spec", params())
def test_every_reference_solution_passes(name, spec):
    rows = rows_of(name)
    verdicts = grade_batch(
        [GradeItem(r["solution"], r["reference"], spec, r["id"]) for r in rows],
        workers=2,
        timeout_s=60,
    )
    failed = [
        (r["id"], v.status.value, v.failure_reason) for r, v in zip(rows, verdicts) if not v.passed
    ]
    assert failed == []


def corrupt_math(row: dict) -> str:
    wrong = Fraction(row["reference"]["answer"]) + 1
    return re.sub(r"\\boxed\{.*\}", lambda _: f"\\\\boxed{{{wrong}}}", row["solution"])


def corrupt_json(row: dict) -> str:
    def change(value):
        if isinstance(value, dict):
            key = sorted(value)[0]
            return {**value, key: change(value[key])}
        if isinstance(value, list):
            return [change(value[0])] + value[1:]
        if isinstance(value, bool):
            return not value
        return value + 1 if isinstance(value, int) else value + " (edited)"

    return json.dumps(change(json.loads(row["solution"])))


def corrupt_xml(row: dict) -> str:
    root = etree.fromstring(row["solution"].encode())
    leaf = next(e for e in root.iter() if len(e) == 0 and e.text)
    leaf.text = leaf.text + "9"
    return etree.tostring(root, encoding="unicode")


def corrupt_tools(row: dict) -> str:
    calls = parse_tool_calls(row["solution"]).calls
    last = calls[-1]
    key = next(k for k, v in last.arguments.items() if isinstance(v, str))
    edited = {**last.arguments, key: last.arguments[key] + "-x"}
    blocks = [{"name": c.name, "arguments": c.arguments} for c in calls[:-1]] + [
        {"name": last.name, "arguments": edited}
    ]
    return (
        "".join(f"<tool_call>{json.dumps(b)}</tool_call>" for b in blocks)
        + "\n"
        + row["meta"]["final_answer"]
    )


def corrupt_code(row: dict) -> str:
    """The solution, then the entry point redefined to return None (the tests must catch it)."""
    return (
        row["solution"]
        + f"\n\ndef {row['reference']['entry_point']}(*args, **kwargs):\n    return None\n"
    )


CORRUPT = {
    "math": corrupt_math,
    "arith": corrupt_math,
    "arith_heldout": corrupt_math,
    "json": corrupt_json,
    "xml": corrupt_xml,
    "tools": corrupt_tools,
    "code": corrupt_code,
}


@pytest.mark.parametrize("name, spec", params())
def test_a_corrupted_solution_fails(name, spec):
    rows = rows_of(name)
    items = [GradeItem(CORRUPT[name](r), r["reference"], spec, r["id"]) for r in rows]
    verdicts = grade_batch(items, workers=2, timeout_s=60)
    not_failed = [
        (r["id"], v.status.value, v.failure_reason)
        for r, v in zip(rows, verdicts)
        if v.status.value != "fail"
    ]
    assert not_failed == []


def test_the_arith_splits_share_no_problem_and_mix_the_operations_alike():
    def problem(row):
        a, op, b = row["solution"].split(" =")[0].split()
        return (op, *sorted((int(a), int(b)))) if op in "+*" else (op, int(a), int(b))

    train, held = rows_of("arith"), rows_of("arith_heldout")
    assert not {problem(r) for r in train} & {problem(r) for r in held}
    assert len({problem(r) for r in held}) == len(held)  # held-out problems are distinct
    for op in ("add", "sub", "mul"):
        share = [sum(r["meta"]["op"] == op for r in rows) / len(rows) for rows in (train, held)]
        assert share[1] > 0 and abs(share[0] - share[1]) < 0.05, (op, share)
