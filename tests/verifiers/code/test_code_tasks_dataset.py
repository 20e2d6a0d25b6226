"""The shipped Python function tasks: reproducible from their seed, and graded correctly by
code@1."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from verifiers import GradeItem, Status, grade_batch
from verifiers.code import CodeConfig, CodeVerifier

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "datasets" / "code" / "python_tasks.jsonl"
MANIFEST = ROOT / "datasets" / "code" / "python_tasks.manifest.json"


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "generate_code_tasks", ROOT / "datasets" / "generate_code_tasks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tasks():
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def test_manifest_matches_the_file(tasks):
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["count"] == len(tasks) >= 100
    assert manifest["sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert manifest["generator"] == "datasets/generate_code_tasks.py"


def test_generator_reproduces_the_file_from_its_seed():
    manifest = json.loads(MANIFEST.read_text())
    generated = load_generator().generate(manifest["seed"], manifest["per_family"])
    text = "".join(json.dumps(t, sort_keys=True) + "\n" for t in generated)
    assert hashlib.sha256(text.encode()).hexdigest() == manifest["sha256"]


def test_tasks_are_well_formed(tasks):
    assert len({t["id"] for t in tasks}) == len(tasks)
    for task in tasks:
        assert task["reference"]["entry_point"] == task["entry_point"]
        assert task["reference"]["tests"].count("assert ") >= 3


@pytest.mark.slow
def test_every_reference_solution_passes_and_a_stub_fails(tasks):
    verifier = CodeVerifier(CodeConfig(sandbox="local"))
    items = [GradeItem(t["solution"], t["reference"], verifier, t["id"]) for t in tasks]
    items += [
        GradeItem(
            f"def {t['entry_point']}(*args):\n    return None\n", t["reference"], verifier, "stub"
        )
        for t in tasks[:10]
    ]
    verdicts = grade_batch(items, workers=2, timeout_s=60)
    bad = [
        (item.id, v.failure_reason)
        for item, v in zip(items[: len(tasks)], verdicts)
        if v.status is not Status.PASS
    ]
    assert bad == []
    assert all(v.status is Status.FAIL for v in verdicts[len(tasks) :])
