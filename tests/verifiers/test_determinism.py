"""Same input + same verifier version => same verdict (apart from ``elapsed_s``): in this process,
in worker processes, in a fresh interpreter with another hash seed, and against identities pinned
in this file.

A pinned digest changing means a verdict changed: if that was intended, it needs a new verifier
version (see STYLE.md), and the digest here is updated with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import verifiers
from verifiers import GradeItem, grade_batch
from verifiers.hashing import stable_hash

PERSON = {
    "type": "object",
    "required": ["name", "age", "email"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 2},
        "age": {"type": "integer", "minimum": 0},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "uniqueItems": True},
    },
}
XSD = (
    '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element '
    'name="a"><xs:complexType><xs:sequence><xs:element name="b" type="xs:integer" '
    'maxOccurs="3"/></xs:sequence></xs:complexType></xs:element></xs:schema>'
)

#: name -> (spec, response, reference)
ITEMS = {
    "json_pass": (
        "json_schema@1",
        '{"name": "Ada", "age": 36, "email": "ada@example.org"}',
        {"schema": PERSON},
    ),
    "json_fail_many": (
        "json_schema@1",
        '```json\n{"name": "A", "age": -1, "tags": [1, 1], "x": null}\n```',
        {"schema": PERSON},
    ),
    "json_partial": (
        "json_schema@1",
        '{"name": "Ada", "age": "old"}',
        {"schema": PERSON, "partial_credit": True},
    ),
    "json_unparseable": ("json_schema@1", "[NaN]", {"schema": PERSON}),
    "json_bad_schema": ("json_schema@1", "{}", {"schema": {"type": 12}}),
    "json_remote_ref": ("json_schema@1", "{}", {"schema": {"$ref": "http://127.0.0.1:9/s.json"}}),
    "xml_pass": (
        "xml_schema@1",
        "<a><b>1</b><b>2</b></a>",
        {"xsd": XSD, "xpath": [{"expr": "sum(//b)", "equals": 3}]},
    ),
    "xml_fail": (
        "xml_schema@1",
        "<a><b>x</b><b>1</b><b>2</b><b>3</b></a>",
        {"xsd": XSD, "xpath": [{"expr": "//b", "equals": ["x"]}], "partial_credit": True},
    ),
    "xml_entity": ("xml_schema@1", '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', {"xsd": XSD}),
    "xml_import": (
        "xml_schema@1",
        "<a/>",
        {
            "relaxng": '<element name="a" xmlns="http://relaxng.org/ns/structure/1.0"><externalRef '
            'href="x.rng"/></element>'
        },
    ),
}

#: sha256 of each item's canonical verdict identity (``stable_hash(verdict.identity())``),
#: committed. Messages in ``details`` come from jsonschema / libxml2, so upgrading those can move a
#: digest.
PINNED = {
    "json_pass": "sha256:949c9a41da6c1ce702ed9d48d21922c59908bbb7a577bf1afaa24071047696ba",
    "json_fail_many": "sha256:9955109d7348f9040b62357cb035e18d59692caa71e5d536baf7964d7eaa0c50",
    "json_partial": "sha256:6b467e6e47b7d1b05bad351aa365984835b7f86edc0812de496a8c4a501f4eb7",
    "json_unparseable": "sha256:533c5a109fd0ef179a0203522474061a8d23bfa1244ac2fef6d46f6945fd635e",
    "json_bad_schema": "sha256:25e20db8c0e4bb30bf0309df7aa1b2c1cb97e83255856c525d3c341a29e3a1f2",
    "json_remote_ref": "sha256:42a2f0f006623247892e735967d2bba245ddab7ee2d0d02467d913634c30f625",
    "xml_pass": "sha256:910b93f8284d4603892d28384409e6327769963a93f492ecf67f6e24f40c43d3",
    "xml_fail": "sha256:6443a29313e5e2e4a17a1b8d62cce8fce5b405a7cf38078c6e2352e44ef3f28a",
    "xml_entity": "sha256:b4e3d8d35cdfed2d2dfb89d61d8bdeed802a8b0776356b2132c44caaf2b3656e",
    "xml_import": "sha256:60234cd3c622106f8273cc5535d7477c06d4663e53755dca3d1c8c0102895777",
}


def identity_digests(verdicts) -> dict[str, str]:
    return {name: stable_hash(v.identity()) for name, v in zip(ITEMS, verdicts)}


def _direct():
    return [verifiers.get(spec).verify(resp, ref) for spec, resp, ref in ITEMS.values()]


def _batch(workers):
    items = [GradeItem(resp, ref, spec, name) for name, (spec, resp, ref) in ITEMS.items()]
    return grade_batch(items, workers=workers, timeout_s=60)


SUBPROCESS_CODE = """
import json, sys
sys.path.insert(0, {test_dir!r})
from test_determinism import ITEMS, identity_digests, _direct
print(json.dumps(identity_digests(_direct())))
"""


def _in_fresh_interpreter(hash_seed: str) -> dict[str, str]:
    code = SUBPROCESS_CODE.format(test_dir=os.path.dirname(__file__))
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_direct_calls_repeat_exactly():
    # second run hits warm caches
    first, second = (identity_digests(_direct()), identity_digests(_direct()))
    assert first == second


def test_fresh_verifier_instances_agree():
    fresh = [type(verifiers.get(spec))().verify(resp, ref) for spec, resp, ref in ITEMS.values()]
    assert identity_digests(fresh) == identity_digests(_direct())


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_agree_with_direct_calls(workers):
    assert identity_digests(_batch(workers)) == identity_digests(_direct())


@pytest.mark.parametrize("hash_seed", ["0", "4242"])
def test_fresh_interpreter_agrees(hash_seed):
    assert _in_fresh_interpreter(hash_seed) == identity_digests(_direct())


def test_key_order_of_the_reference_does_not_matter():
    spec, resp, ref = ITEMS["json_fail_many"]
    reordered = {"schema": dict(reversed(list(PERSON.items())))}
    reordered["schema"]["properties"] = dict(reversed(list(PERSON["properties"].items())))
    a = verifiers.get(spec).verify(resp, ref)
    b = verifiers.get(spec).verify(resp, reordered)
    assert a.identity() == b.identity()


def test_identities_match_the_pinned_digests():
    assert identity_digests(_direct()) == PINNED


def test_verdict_round_trips_through_json():
    for verdict in _direct():
        again = verifiers.Verdict.from_dict(json.loads(verdict.to_json()))
        assert again.identity() == verdict.identity()
