"""Conformance of ``json_schema@2`` (and, for the record, ``json_schema@1``) with
JSON-Schema-Test-Suite.

The suite is read where it lives, ``../shared/conformance/jsonschema/``. Its required tests are the
files directly in ``tests/draft7/`` and ``tests/draft2020-12/`` (``optional/`` is not graded). Each
test's ``data`` is the response (as JSON text), the case's ``schema`` the reference's schema; a
``pass`` verdict must match ``"valid": true`` and a ``fail`` ``"valid": false`` (any other status
disagrees). Draft-7 schemas get ``"$schema"`` for draft 7 (the suite leaves it out; the default
dialect is 2020-12).

A test is *remote* when its schema's ``$ref``, ``$dynamicRef`` or ``$schema`` names a document of
``remotes/``, which the suite serves at ``http://localhost:1234/`` (resolved against the ``$id`` s
in scope). ``json_schema@2`` grades remote tests with ``"resources"``: every remote document of
the draft (the suite's shared documents and the draft's own folder) under its served URI. The
tests of ``format.json`` are graded with ``"formats": "annotate"``; every other test with the
references' defaults. ``json_schema@1`` is graded the same way, with only ``"schema"`` (it has
neither ``resources`` nor ``formats``).

The numbers each version meets are pinned here and in ``verifiers/json_schema/CONFORMANCE.md``,
whose ``## Disagreements`` section names every ``json_schema@2`` disagreement (none today).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from conformance_paths import ROOT, suite_path

from verifiers import Status
from verifiers.registry import get

CONFORMANCE_DOC = ROOT / "verifiers" / "json_schema" / "CONFORMANCE.md"
DRAFTS = {
    "draft7": "http://json-schema.org/draft-07/schema#",
    "draft2020-12": "https://json-schema.org/draft/2020-12/schema",
}
"""Graded drafts -> the ``$schema`` a schema without one gets."""
REMOTES_URL = "http://localhost:1234/"

AGREEING = {
    "json_schema@2": {
        ("draft7", "local"): (904, 904),
        ("draft7", "remote"): (23, 23),
        ("draft2020-12", "local"): (1250, 1250),
        ("draft2020-12", "remote"): (49, 49),
    },
    "json_schema@1": {
        ("draft7", "local"): (904, 904),
        ("draft7", "remote"): (0, 23),
        ("draft2020-12", "local"): (1228, 1250),
        ("draft2020-12", "remote"): (0, 49),
    },
}
"""Version -> (draft, local | remote) -> (tests agreeing, tests)."""

V1_DISAGREEMENTS_BY_FILE = {
    "draft7/refRemote.json": 23,
    "draft2020-12/refRemote.json": 31,  # no resources: every remote $ref is unresolvable_ref
    # the strict-tree and extendible-dynamic-ref cases are remote
    "draft2020-12/dynamicRef.json": 13,
    # custom metaschemas live in remotes/: unknown_schema_dialect
    "draft2020-12/vocabulary.json": 5,
    "draft2020-12/format.json": 17,  # formats always asserted; 2020-12 only annotates
    "draft2020-12/pattern.json": 3,  # "^\\p{Letter}+$" refused as bad_schema (checked with re)
    "draft2020-12/patternProperties.json": 2,  # same
}
"""Where ``json_schema@1`` disagrees, per file (all of its disagreements)."""


@dataclass(frozen=True)
class SuiteTest:
    """One test of the suite: a (schema, data, valid) triple and where it comes from."""

    draft: str
    file: str
    case_index: int
    test_index: int
    description: str
    schema: Any
    data: Any
    valid: bool
    remote: bool

    @property
    def id(self) -> str:
        """``draft/file:case:test`` (indices from 0), as CONFORMANCE.md names a disagreement."""
        return f"{self.draft}/{self.file}:{self.case_index}:{self.test_index}"

    @property
    def kind(self) -> str:
        return "remote" if self.remote else "local"


@lru_cache(maxsize=None)
def remotes(draft: str) -> dict[str, Any]:
    """The remote documents a ``draft`` test may use, keyed by the URI the suite serves them at."""
    root = suite_path("jsonschema", "remotes")
    documents = {}
    for path in sorted(root.rglob("*.json")):
        top = path.relative_to(root).parts[0]
        # another draft's own documents
        if (top.startswith("draft") or top == "v1") and top != draft:
            continue
        documents[REMOTES_URL + path.relative_to(root).as_posix()] = json.loads(
            path.read_text(encoding="utf-8")
        )
    return documents


def names_a_remote(schema: Any, remote_uris: frozenset[str], base: str = "") -> bool:
    """Does a ``$ref``, ``$dynamicRef`` or ``$schema`` in ``schema`` resolve to one of
    ``remote_uris``?"""
    if isinstance(schema, list):
        return any(names_a_remote(item, remote_uris, base) for item in schema)
    if not isinstance(schema, dict):
        return False
    if isinstance(schema.get("$id"), str):
        base = urljoin(base, schema["$id"])
    for keyword in ("$ref", "$dynamicRef", "$schema"):
        target = schema.get(keyword)
        if isinstance(target, str) and urldefrag(urljoin(base, target))[0] in remote_uris:
            return True
    return any(names_a_remote(value, remote_uris, base) for value in schema.values())


@lru_cache(maxsize=None)
def suite_tests(draft: str) -> tuple[SuiteTest, ...]:
    """Every required test of ``draft``, in file order."""
    folder = suite_path("jsonschema", "tests", draft)
    remote_uris = frozenset(remotes(draft))
    tests = []
    for path in sorted(folder.glob("*.json")):
        for case_index, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            schema = case["schema"]
            if isinstance(schema, dict) and "$schema" not in schema:
                schema = {"$schema": DRAFTS[draft], **schema}
            remote = names_a_remote(schema, remote_uris)
            for test_index, test in enumerate(case["tests"]):
                tests.append(
                    SuiteTest(
                        draft,
                        path.name,
                        case_index,
                        test_index,
                        f"{case['description']} / {test['description']}",
                        schema,
                        test["data"],
                        test["valid"],
                        remote,
                    )
                )
    return tuple(tests)


def reference_for(spec: str, test: SuiteTest) -> dict[str, Any]:
    reference: dict[str, Any] = {"schema": test.schema}
    if spec == "json_schema@2":
        if test.remote:
            reference["resources"] = remotes(test.draft)
        if test.file == "format.json":
            reference["formats"] = "annotate"
    return reference


@lru_cache(maxsize=None)
def verdicts(spec: str, draft: str) -> tuple[tuple[SuiteTest, Any], ...]:
    """``(test, verdict)`` for every required test of ``draft``, graded in-process by ``spec``."""
    verifier = get(spec)
    return tuple(
        (test, verifier.verify(json.dumps(test.data), reference_for(spec, test)))
        for test in suite_tests(draft)
    )


def agrees(test: SuiteTest, verdict: Any) -> bool:
    return verdict.status is (Status.PASS if test.valid else Status.FAIL)


def disagreements(spec: str) -> dict[str, str]:
    """Test id -> what was expected and what ``spec`` said, over both drafts."""
    found = {}
    for draft in DRAFTS:
        for test, verdict in verdicts(spec, draft):
            if not agrees(test, verdict):
                reason = verdict.failure_reason.to_dict() if verdict.failure_reason else ""
                found[test.id] = (
                    f"{test.description}: valid={test.valid}, got {verdict.status.value} {reason}"
                )
    return found


def documented_disagreements() -> set[str]:
    """The test ids named in CONFORMANCE.md's ``## Disagreements`` section."""
    section = (
        CONFORMANCE_DOC.read_text(encoding="utf-8")
        .split("## Disagreements", 1)[1]
        .split("\n## ", 1)[0]
    )
    return set(re.findall(r"`(draft[\w-]+/[\w-]+\.json:\d+:\d+)`", section))


# -- the suite as graded ---------------------------------------------------------------------------


@pytest.mark.parametrize("draft,required", [("draft7", 927), ("draft2020-12", 1299)])
def test_scope(draft, required):
    tests = suite_tests(draft)
    kinds = Counter(test.kind for test in tests)
    print(
        f"\n{draft}: {len(tests)} required tests, {kinds['local']} local, {kinds['remote']} remote"
    )
    assert len(tests) == required  # the counts in ../shared/conformance/README.md
    assert all(test.remote for test in tests if test.file == "refRemote.json")


def test_remote_tests_need_their_resources():
    """Graded without ``resources``, every remote test is an error naming them: the local/remote
    split is right."""
    verifier = get("json_schema@2")
    for draft in DRAFTS:
        for test in (t for t in suite_tests(draft) if t.remote):
            verdict = verifier.verify(json.dumps(test.data), {"schema": test.schema})
            assert verdict.status is Status.ERROR, test.id
            assert verdict.failure_reason.code in {"unresolvable_ref", "unknown_schema_dialect"}, (
                test.id
            )
            assert "resources" in verdict.failure_reason.message, test.id


@pytest.mark.parametrize("spec", sorted(AGREEING))
def test_agreement_is_pinned(spec):
    counts = {}
    for draft in DRAFTS:
        for kind in ("local", "remote"):
            graded = [(t, v) for t, v in verdicts(spec, draft) if t.kind == kind]
            counts[draft, kind] = (sum(agrees(t, v) for t, v in graded), len(graded))
            print(
                f"\n{spec} {draft} {kind}: {counts[draft, kind][0]}/{counts[draft, kind][1]} agree"
            )
    assert counts == AGREEING[spec]


def test_json_schema_1_disagreements_by_file():
    by_file = Counter(test_id.split(":")[0] for test_id in disagreements("json_schema@1"))
    assert dict(by_file) == V1_DISAGREEMENTS_BY_FILE


def test_every_json_schema_2_disagreement_is_documented():
    found = disagreements("json_schema@2")
    for test_id, why in sorted(found.items()):
        print(f"  {test_id}: {why}")
    assert set(found) == documented_disagreements()


def test_conformance_doc_states_the_pinned_numbers():
    """CONFORMANCE.md's table rows read ``| version | draft | local | remote |`` with the pinned
    counts."""
    text = CONFORMANCE_DOC.read_text(encoding="utf-8")
    for spec, counts in AGREEING.items():
        for draft in DRAFTS:
            cells = [
                f"{counts[draft, kind][0]}/{counts[draft, kind][1]}" for kind in ("local", "remote")
            ]
            assert f"| `{spec}` | {draft} | {cells[0]} | {cells[1]} |" in text, (spec, draft)
