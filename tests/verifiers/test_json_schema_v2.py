"""json_schema@2: one regex engine, local resources for $ref, formats mode, custom metaschemas.

Everything @2 keeps from @1 (extraction, bounds, violations, partial credit) is covered by
``test_json_schema_verifier.py`` and by @1's golden rows, repeated in
``verifiers/golden/json_schema@2.jsonl``.
"""

from __future__ import annotations

import doctest
import json
import re

import pytest
from jsonschema import Draft201909Validator, Draft202012Validator

import verifiers
from verifiers import GradeItem, Status, grade_batch
from verifiers.json_schema import JsonSchemaConfig, JsonSchemaVerifier, JsonSchemaVerifierV2
from verifiers.json_schema import _dialects, _properties, _resources, verifier_v2

D7 = "http://json-schema.org/draft-07/schema#"
D2020 = "https://json-schema.org/draft/2020-12/schema"
PERSON_URI = "http://example.com/person.json"
PERSON = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
CATASTROPHIC = "^(a|a)*$"
HOSTILE = "a" * 40 + "!"


@pytest.fixture
def v():
    return JsonSchemaVerifierV2()


def _code(verdict):
    return verdict.failure_reason.code if verdict.failure_reason else None


def _meta(uri, vocabularies, *parts):
    """A 2020-12 custom metaschema listing ``vocabularies`` (name -> required) and ``allOf`` the
    ``parts``."""
    return {
        "$schema": D2020,
        "$id": uri,
        "$dynamicAnchor": "meta",
        "$vocabulary": {
            (v if ":" in v else f"https://json-schema.org/draft/2020-12/vocab/{v}"): req
            for v, req in vocabularies.items()
        },
        "allOf": [{"$ref": f"https://json-schema.org/draft/2020-12/meta/{p}"} for p in parts],
    }


def test_registered_as_latest_next_to_1():
    assert type(verifiers.get("json_schema")) is JsonSchemaVerifierV2
    assert type(verifiers.get("json_schema@1")) is JsonSchemaVerifier
    assert [i.versions for i in verifiers.available() if i.name == "json_schema"] == [(1, 2)]
    history = JsonSchemaVerifierV2.__doc__.strip().split("Versions:")[1]
    assert (
        history.startswith(" 1 - first version. 2 - ")
        and "\\p{...}" in history
        and "resources" in history
    )


@pytest.mark.parametrize(
    "module", [verifier_v2, _dialects, _properties, _resources, verifiers.json_schema]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- patterns: checked and matched by one engine ----------------------------------------------


@pytest.mark.parametrize(
    "schema,response,status",
    [
        ({"pattern": "^\\p{Letter}+$"}, "Ærøskøbing", "pass"),
        ({"pattern": "^\\p{Letter}+$"}, "abc1", "fail"),
        ({"pattern": "^\\p{Lu}\\p{Ll}+$"}, "Émile", "pass"),
        ({"patternProperties": {"^\\p{L}+$": {"type": "integer"}}}, {"Größe": "x"}, "fail"),
        (
            {"patternProperties": {"^\\p{L}+$": {}}, "additionalProperties": False},
            {"Größe": 1},
            "pass",
        ),
        (
            {"patternProperties": {"^\\p{L}+$": {}}, "additionalProperties": False},
            {"x1": 1},
            "fail",
        ),
        (
            {"patternProperties": {"^\\p{L}+$": {}}, "unevaluatedProperties": False},
            {"Größe": 1},
            "pass",
        ),
        (
            {"patternProperties": {"^\\p{L}+$": {}}, "unevaluatedProperties": False},
            {"x1": 1},
            "fail",
        ),
        ({"propertyNames": {"pattern": "^\\p{L}+$"}}, {"x1": 1}, "fail"),
        ({"format": "regex"}, "^\\p{L}+$", "pass"),
        ({"format": "regex"}, "^(abc]", "fail"),
    ],
)
def test_unicode_property_patterns_everywhere(v, schema, response, status):
    verdict = v.verify(json.dumps(response), {"schema": schema})
    assert verdict.status.value == status, verdict.failure_reason


def test_version_1_still_refuses_unicode_property_patterns():
    verdict = verifiers.get("json_schema@1").verify(
        '"abc"', {"schema": {"pattern": "^\\p{Letter}+$"}}
    )
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_schema"


def test_pattern_the_engine_refuses_is_bad_schema(v):
    verdict = v.verify('"a"', {"schema": {"properties": {"a": {"pattern": "[a-z"}}}})
    assert (
        _code(verdict) == "bad_schema"
        and "at /properties/a/pattern" in verdict.failure_reason.message
    )


@pytest.mark.parametrize(
    "schema,instance",
    [
        ({"pattern": CATASTROPHIC}, HOSTILE),
        ({"patternProperties": {CATASTROPHIC: {}}}, {HOSTILE: 1}),
        ({"additionalProperties": False, "patternProperties": {CATASTROPHIC: {}}}, {HOSTILE: 1}),
        ({"unevaluatedProperties": False, "patternProperties": {CATASTROPHIC: {}}}, {HOSTILE: 1}),
        (
            {
                "$schema": "https://json-schema.org/draft/2019-09/schema",
                "unevaluatedProperties": False,
                "patternProperties": {CATASTROPHIC: {}},
            },
            {HOSTILE: 1},
        ),
        ({"$defs": {"x": {"$schema": D7, "pattern": CATASTROPHIC}}, "$ref": "#/$defs/x"}, HOSTILE),
    ],
)
def test_every_pattern_match_is_under_the_budget(schema, instance):
    v = JsonSchemaVerifierV2(JsonSchemaConfig(regex_budget_s=0.2))
    verdict = v.verify(json.dumps(instance), {"schema": schema})
    assert verdict.status is Status.TIMEOUT and _code(verdict) == "regex_timeout"


def test_pattern_in_a_resource_is_under_the_budget():
    v = JsonSchemaVerifierV2(JsonSchemaConfig(regex_budget_s=0.2))
    reference = {
        "schema": {"$ref": "http://example.com/p.json"},
        "resources": {"http://example.com/p.json": {"$schema": D2020, "pattern": CATASTROPHIC}},
    }
    assert v.verify(json.dumps(HOSTILE), reference).status is Status.TIMEOUT


# -- the property keywords, against jsonschema's own ------------------------------------------

PROPERTY_SCHEMAS = [
    {
        "properties": {"a": {}},
        "patternProperties": {"^b": {"type": "integer"}},
        "additionalProperties": False,
    },
    {
        "properties": {"a": {}},
        "patternProperties": {"^b|^c": {}},
        "additionalProperties": {"type": "string"},
    },
    {"patternProperties": {"^x": {}}, "unevaluatedProperties": False},
    {
        "allOf": [{"properties": {"a": {}}}, {"patternProperties": {"^b": {}}}],
        "unevaluatedProperties": False,
    },
    {
        "anyOf": [{"properties": {"a": {"const": 1}}}, {"patternProperties": {"^b": {}}}],
        "unevaluatedProperties": {"type": "integer"},
    },
    {
        "if": {"properties": {"a": {"const": 1}}},
        "then": {"patternProperties": {"^b": {}}},
        "else": {"properties": {"c": {}}},
        "unevaluatedProperties": False,
    },
    {"dependentSchemas": {"a": {"patternProperties": {"^b": {}}}}, "unevaluatedProperties": False},
    {
        "$defs": {"d": {"patternProperties": {"^b": {}}}},
        "$ref": "#/$defs/d",
        "unevaluatedProperties": False,
    },
    {"additionalProperties": {"type": "integer"}, "unevaluatedProperties": False},
    {"properties": {"a": True}, "unevaluatedProperties": {"minimum": 2}},
]
PROPERTY_INSTANCES = [
    {},
    {"a": 1},
    {"a": 2},
    {"b1": 1},
    {"b1": "s", "c": 3},
    {"a": 1, "b": 2, "c": "x", "x": 0},
]


@pytest.mark.parametrize("stock", [Draft202012Validator, Draft201909Validator])
@pytest.mark.parametrize("schema", PROPERTY_SCHEMAS)
def test_property_keywords_match_jsonschema_on_ascii_patterns(stock, schema):
    bounded = _dialects.bounded_class(stock)(schema)
    reference = stock(schema)
    for instance in PROPERTY_INSTANCES:
        mine = sorted(e.message for e in bounded.iter_errors(instance))
        theirs = sorted(e.message for e in reference.iter_errors(instance))
        assert mine == theirs, (schema, instance)


# -- resources: local documents for $ref ------------------------------------------------------


def test_remote_ref_resolved_from_resources(v):
    reference = {"schema": {"$ref": PERSON_URI}, "resources": {PERSON_URI: PERSON}}
    assert v.verify('{"name": "Ada"}', reference).passed
    verdict = v.verify('{"name": 7}', reference)
    assert verdict.status is Status.FAIL and verdict.details["violations"][0]["path"] == "/name"


def test_relative_refs_anchors_and_nested_resources(v):
    defs = {
        "$defs": {"pos": {"type": "integer", "minimum": 1}},
        "properties": {"tag": {"$anchor": "tag", "type": "string"}, "more": {"$ref": "more.json"}},
    }
    reference = {
        "schema": {
            "$id": "http://example.com/root.json",
            "properties": {
                "n": {"$ref": "defs.json#/$defs/pos"},
                "t": {"$ref": "defs.json#tag"},
                "m": {"$ref": "defs.json#/properties/more"},
            },
        },
        "resources": {
            "http://example.com/defs.json": defs,
            "http://example.com/more.json": {"const": 1},
        },
    }
    assert v.verify('{"n": 2, "t": "x", "m": 1}', reference).passed
    assert v.verify('{"n": 0}', reference).status is Status.FAIL
    assert v.verify('{"t": 3}', reference).status is Status.FAIL
    assert v.verify('{"m": 2}', reference).status is Status.FAIL


def test_resource_with_its_own_id(v):
    document = {
        "$id": "http://example.com/real.json",
        "$defs": {"s": {"type": "string"}},
        "$ref": "#/$defs/s",
    }
    reference = {
        "schema": {"$ref": "http://example.com/alias.json"},
        "resources": {"http://example.com/alias.json": document},
    }
    assert v.verify('"x"', reference).passed and v.verify("1", reference).status is Status.FAIL


def test_resource_without_schema_is_read_in_the_roots_dialect(v):
    # draft 7 ignores siblings of $ref: the resource's "type" does not apply; in 2020-12 it would
    document = {"definitions": {"any": {}}, "$ref": "#/definitions/any", "type": "string"}
    for root, status in ((D7, Status.PASS), (D2020, Status.FAIL)):
        reference = {
            "schema": {"$schema": root, "$ref": "http://example.com/d.json"},
            "resources": {"http://example.com/d.json": document},
        }
        assert v.verify("1", reference).status is status, root


def test_missing_document_is_named_with_the_fix(v):
    verdict = v.verify(
        "1",
        {
            "schema": {"$id": "http://example.com/root.json", "$ref": "sub/a.json"},
            "resources": {PERSON_URI: PERSON},
        },
    )
    assert verdict.status is Status.ERROR and _code(verdict) == "unresolvable_ref"
    message = verdict.failure_reason.message
    assert "'http://example.com/sub/a.json'" in message
    assert re.search(
        r'add it there, e\.g\. \{"resources": \{"http://example\.com/sub/a\.json"', message
    )
    assert "never fetched" in message


def test_relative_ref_without_an_id_says_to_add_one(v):
    verdict = v.verify("1", {"schema": {"$ref": "a.json"}})
    assert _code(verdict) == "unresolvable_ref"
    assert 'give the schema an absolute "$id"' in verdict.failure_reason.message


def test_pointer_to_nothing_in_a_resource(v):
    verdict = v.verify(
        "1", {"schema": {"$ref": PERSON_URI + "#/$defs/nope"}, "resources": {PERSON_URI: PERSON}}
    )
    assert (
        _code(verdict) == "unresolvable_ref"
        and "points to nothing" in verdict.failure_reason.message
    )


def test_resources_open_no_file_and_no_socket(v, listener, tmp_path):
    secret = tmp_path / "s.json"
    secret.write_text('{"description": "RLVR-SECRET"}')
    for ref in (secret.as_uri(), f"http://127.0.0.1:{listener}/s.json"):
        verdict = v.verify("1", {"schema": {"$ref": ref}, "resources": {PERSON_URI: PERSON}})
        assert _code(verdict) == "unresolvable_ref" and "RLVR-SECRET" not in json.dumps(
            verdict.to_dict()
        )


@pytest.mark.parametrize(
    "resources,match",
    [
        (
            [PERSON],
            r'"resources" must be a JSON object mapping absolute URIs to schemas, e\.g\. '
            r'\{"resources"',
        ),
        (
            {"person.json": PERSON},
            r"key 'person\.json' is not an absolute URI: name each document .* with a scheme",
        ),
        ({PERSON_URI: "string"}, r"must be a schema \(a JSON object or boolean\), got str"),
        ({PERSON_URI: [PERSON]}, r"must be a schema \(a JSON object or boolean\), got list"),
        (
            {PERSON_URI + "#/x": PERSON},
            r"has a fragment: key the whole document \('http://example\.com/person\.json'\)",
        ),
    ],
)
def test_malformed_resources_are_bad_references(v, resources, match):
    verdict = v.verify("1", {"schema": {"$ref": PERSON_URI}, "resources": resources})
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_reference"
    assert re.search(match, verdict.failure_reason.message), verdict.failure_reason.message


def test_a_resource_that_is_not_a_schema_is_bad_schema(v):
    verdict = v.verify(
        "1", {"schema": {"$ref": PERSON_URI}, "resources": {PERSON_URI: {"type": "frob"}}}
    )
    assert _code(verdict) == "bad_schema"
    assert verdict.failure_reason.message.startswith(
        f"resource '{PERSON_URI}' is not a valid Draft202012 schema at /type"
    )


def test_resources_are_part_of_the_test_case_hash(v):
    plain = {"schema": {"$ref": PERSON_URI}, "resources": {PERSON_URI: PERSON}}
    other = {"schema": {"$ref": PERSON_URI}, "resources": {PERSON_URI: {**PERSON, "required": []}}}
    assert v.test_case_hash(plain) != v.test_case_hash(other)
    assert v.verify("{}", plain).test_case_hash == v.test_case_hash(plain)
    # one instance, two caches keys
    assert v.verify("{}", plain).status is Status.FAIL and v.verify("{}", other).passed


def test_resources_through_the_batch_grader():
    reference = {"schema": {"$ref": PERSON_URI}, "resources": {PERSON_URI: PERSON}}
    items = [
        GradeItem('{"name": "Ada"}', reference, "json_schema"),
        GradeItem("{}", reference, "json_schema@2"),
    ]
    assert [x.status for x in grade_batch(items, workers=1, timeout_s=60)] == [
        Status.PASS,
        Status.FAIL,
    ]


def test_version_1_refuses_resources():
    verdict = verifiers.get("json_schema@1").verify("1", {"schema": {}, "resources": {}})
    assert (
        _code(verdict) == "bad_reference"
        and "json_schema@1 takes ['partial_credit', 'schema']" in verdict.failure_reason.message
    )


# -- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema,formats,status",
    [
        ({"format": "email"}, None, Status.FAIL),
        ({"format": "email"}, "assert", Status.FAIL),
        ({"format": "email"}, "annotate", Status.PASS),
        ({"$schema": D7, "format": "email"}, "assert", Status.FAIL),
        ({"$schema": D7, "format": "email"}, "annotate", Status.PASS),
        (
            {"$schema": "http://example.com/fa", "format": "email"},
            "annotate",
            Status.FAIL,
        ),  # format-assertion vocabulary
        ({"$schema": "http://example.com/fa", "format": "email"}, "assert", Status.FAIL),
        (
            {"$schema": "http://example.com/plain", "format": "email"},
            "assert",
            Status.PASS,
        ),  # no format vocabulary at all
    ],
)
def test_formats_mode(v, schema, formats, status):
    resources = {
        "http://example.com/fa": _meta(
            "http://example.com/fa",
            {"core": True, "format-assertion": True},
            "core",
            "format-assertion",
        ),
        "http://example.com/plain": _meta("http://example.com/plain", {"core": True}, "core"),
    }
    reference = {"schema": schema, "resources": resources}
    if formats is not None:
        reference["formats"] = formats
    assert v.verify('"not-an-email"', reference).status is status


def test_formats_mode_is_part_of_the_cache_key(v):
    schema = {"format": "ipv4"}
    assert v.verify('"256.0.0.1"', {"schema": schema}).status is Status.FAIL
    assert v.verify('"256.0.0.1"', {"schema": schema, "formats": "annotate"}).passed
    assert v.verify('"256.0.0.1"', {"schema": schema, "formats": "assert"}).status is Status.FAIL


@pytest.mark.parametrize("formats", ["strict", "", True, None, ["assert"]])
def test_bad_formats_value_names_the_allowed_ones(v, formats):
    verdict = v.verify('"x"', {"schema": {}, "formats": formats})
    assert _code(verdict) == "bad_reference"
    assert re.search(r'"formats" must be "assert" .* or "annotate"', verdict.failure_reason.message)


# -- custom metaschemas and vocabularies ----------------------------------------------------------


def test_left_out_vocabulary_switches_its_keywords_off(v):
    meta = _meta("http://example.com/nv", {"core": True, "applicator": True}, "core", "applicator")
    reference = {
        "schema": {
            "$schema": "http://example.com/nv",
            "properties": {"n": {"minimum": 10}, "x": False},
        },
        "resources": {"http://example.com/nv": meta},
    }
    assert v.verify('{"n": 1}', reference).passed
    assert v.verify('{"x": 1}', reference).status is Status.FAIL


def test_schema_is_checked_against_its_custom_metaschema(v):
    meta = {
        **_meta("http://example.com/m", {"core": True, "validation": True}, "core", "validation"),
        "properties": {"minimum": {"maximum": 100}},
    }
    verdict = v.verify(
        "1",
        {
            "schema": {"$schema": "http://example.com/m", "minimum": 500},
            "resources": {"http://example.com/m": meta},
        },
    )
    assert _code(verdict) == "bad_schema"
    assert (
        "valid against its metaschema 'http://example.com/m' at /minimum"
        in verdict.failure_reason.message
    )


def test_unknown_required_vocabulary_is_refused_optional_one_ignored(v):
    required = _meta(
        "http://example.com/r", {"core": True, "http://example.com/vocab/mine": True}, "core"
    )
    verdict = v.verify(
        "1",
        {
            "schema": {"$schema": "http://example.com/r"},
            "resources": {"http://example.com/r": required},
        },
    )
    assert (
        _code(verdict) == "unknown_vocabulary"
        and "['http://example.com/vocab/mine']" in verdict.failure_reason.message
    )
    optional = _meta(
        "http://example.com/o",
        {"core": True, "validation": True, "http://example.com/vocab/mine": False},
        "core",
        "validation",
    )
    reference = {
        "schema": {"$schema": "http://example.com/o", "type": "string"},
        "resources": {"http://example.com/o": optional},
    }
    assert v.verify("1", reference).status is Status.FAIL


@pytest.mark.parametrize(
    "reference,code,match",
    [
        (
            {"schema": {"$schema": "http://example.com/m"}},
            "unknown_schema_dialect",
            'add its metaschema to the reference under "resources"',
        ),
        (
            {
                "schema": {"$schema": "http://example.com/m"},
                "resources": {"http://example.com/m": {"$schema": "urn:x"}},
            },
            "unknown_schema_dialect",
            "must itself have a standard \\$schema",
        ),
    ],
)
def test_custom_dialect_problems(v, reference, code, match):
    verdict = v.verify("1", reference)
    assert _code(verdict) == code and re.search(match, verdict.failure_reason.message)


def test_draft_3_has_no_multiple_of(v):
    schema = {
        "$schema": "http://json-schema.org/draft-03/schema#",
        "multipleOf": 3,
        "divisibleBy": 2,
    }
    assert (
        v.verify("4", {"schema": schema}).passed
        and v.verify("3", {"schema": schema}).status is Status.FAIL
    )
