"""json_schema@1: extraction, dialects, violations, partial credit, and hostile input."""

from __future__ import annotations

import doctest
import json
import sys

import pytest

import verifiers
from verifiers import GradeItem, Status, grade_batch
from verifiers.json_schema import JsonSchemaConfig, JsonSchemaVerifier
from verifiers.json_schema import _keywords, _load
from verifiers import _extract

OBJ = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


@pytest.fixture
def v():
    return JsonSchemaVerifier()


def _code(verdict):
    return verdict.failure_reason.code if verdict.failure_reason else None


def test_registered_and_described():
    assert type(verifiers.get("json_schema@1")) is JsonSchemaVerifier
    # @1 stays registered; tests/verifiers/test_json_schema_v2.py
    assert verifiers.resolve("json_schema") == "json_schema@2"
    assert JsonSchemaVerifier.__doc__.strip().endswith("Versions: 1 - first version.")


@pytest.mark.parametrize("module", [_extract, _load, _keywords, verifiers.json_schema])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- extraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response,source",
    [
        ('{"n": 1}', "raw"),
        ('  \n{"n": 1}\n ', "raw"),
        ('Answer:\n```json\n{"n": 1}\n```', "fenced"),
        ('```\n{"n": 1}\n```', "fenced"),
        ('~~~json\n{"n": 1}\n~~~', "fenced"),
        ('````json\n{"n": 1}\n````', "fenced"),
        ('```json\n{"n": 1}', "fenced"),  # unclosed block runs to the end
    ],
)
def test_extraction_sources(v, response, source):
    verdict = v.verify(response, {"schema": OBJ})
    assert verdict.passed, verdict.failure_reason
    assert verdict.details["extracted"] == source


def test_raw_json_containing_a_fence_is_taken_whole(v):
    text = json.dumps({"n": 1, "s": "```json\n{}\n```"})
    verdict = v.verify(text, {"schema": OBJ})
    assert verdict.passed and verdict.details["extracted"] == "raw"


def test_first_json_tagged_block_wins(v):
    text = '```json\n{"n": "first"}\n```\n```json\n{"n": 2}\n```'
    verdict = v.verify(text, {"schema": OBJ})
    assert verdict.status is Status.FAIL and verdict.details["violations"][0]["path"] == "/n"


def test_inline_triple_backticks_are_not_a_fence():
    assert _extract.fenced_blocks("use ```x``` here\n") == []


# -- validation -----------------------------------------------------------------------------


def test_every_violation_reported_with_pointers_sorted(v):
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b/c": {"type": "string"},
            "list": {"items": {"minimum": 0}},
        },
        "required": ["z"],
    }
    verdict = v.verify('{"a": "x", "b/c": 1, "list": [1, -1, -2]}', {"schema": schema})
    assert verdict.status is Status.FAIL and _code(verdict) == "schema_violation"
    rows = verdict.details["violations"]
    assert verdict.details["violation_count"] == len(rows) == 5
    assert [r["path"] for r in rows] == ["", "/a", "/b~1c", "/list/1", "/list/2"]
    assert rows[1]["schema_path"] == "/properties/a/type"
    assert "'z' is a required property" in rows[0]["message"]


def test_violations_capped_but_counted():
    v = JsonSchemaVerifier(JsonSchemaConfig(max_violations=3))
    verdict = v.verify(json.dumps(list(range(50))), {"schema": {"items": {"type": "string"}}})
    assert verdict.details["violation_count"] == 50 and len(verdict.details["violations"]) == 3
    assert [r["path"] for r in verdict.details["violations"]] == ["/0", "/1", "/10"]


def test_long_messages_are_cut():
    v = JsonSchemaVerifier(JsonSchemaConfig(max_message_chars=40))
    verdict = v.verify(json.dumps("x" * 10_000), {"schema": {"maxLength": 3}})
    message = verdict.details["violations"][0]["message"]
    assert len(message) <= 45 and message.startswith("'xxx") and message.endswith("is too long")


@pytest.mark.parametrize(
    "uri,response,status",
    [
        ("http://json-schema.org/draft-04/schema#", "5", "fail"),  # boolean exclusiveMinimum
        ("http://json-schema.org/draft-06/schema#", "5", "pass"),
        ("https://json-schema.org/draft/2020-12/schema", "5", "pass"),
    ],
)
def test_dialect_from_dollar_schema(v, uri, response, status):
    schema = {"$schema": uri, "minimum": 5}
    if "draft-04" in uri:
        schema["exclusiveMinimum"] = True
    assert v.verify(response, {"schema": schema}).status.value == status


def test_default_dialect_is_2020_12(v):
    # prefixItems exists only in 2020-12
    verdict = v.verify(
        '[1, "x"]', {"schema": {"prefixItems": [{"type": "integer"}, {"type": "integer"}]}}
    )
    assert verdict.status is Status.FAIL


def test_bad_schema_is_error_not_fail(v):
    verdict = v.verify("1", {"schema": {"type": "frob"}})
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_schema"
    assert "at /type" in verdict.failure_reason.message


def test_bad_schema_pattern_is_error(v):
    verdict = v.verify('"a"', {"schema": {"pattern": "("}})
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_schema"


def test_unknown_dialect_is_error(v):
    verdict = v.verify("1", {"schema": {"$schema": "urn:nope"}})
    assert verdict.status is Status.ERROR and _code(verdict) == "unknown_schema_dialect"
    assert "2020-12" in verdict.failure_reason.message


def test_formats_are_checked(v):
    assert v.verify('"2024-01-01T10:00:00Z"', {"schema": {"format": "date-time"}}).passed
    assert v.verify('"yesterday"', {"schema": {"format": "date-time"}}).status is Status.FAIL
    assert v.verify('"::1"', {"schema": {"format": "ipv6"}}).passed


def test_partial_credit(v):
    schema = {
        "required": ["a", "b", "c", "d"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    }
    verdict = v.verify('{"a": 1, "b": "x", "c": null}', {"schema": schema, "partial_credit": True})
    assert verdict.status is Status.FAIL
    assert verdict.score == pytest.approx(0.5) and verdict.pass_rate == pytest.approx(0.5)
    plain = v.verify('{"a": 1, "b": "x", "c": null}', {"schema": schema})
    assert plain.score == 0.0 and plain.pass_rate is None


def test_partial_credit_with_local_refs(v):
    schema = {
        "$defs": {"pos": {"minimum": 1}},
        "required": ["a", "b"],
        "properties": {"a": {"$ref": "#/$defs/pos"}, "b": {"$ref": "#/$defs/pos"}},
    }
    verdict = v.verify('{"a": 1, "b": 0}', {"schema": schema, "partial_credit": True})
    assert verdict.score == pytest.approx(0.5)


@pytest.mark.parametrize(
    "reference,match",
    [
        ({}, 'needs "schema"'),
        ({"schema": {}, "extra": 1}, r"unknown reference key\(s\) \['extra'\]"),
        ({"schema": []}, "must be a JSON object or boolean"),
        ({"schema": {}, "partial_credit": 1}, "must be true or false"),
        ({"schema": {}, "partial_credit": True}, "non-empty top-level \"required\""),
    ],
)
def test_bad_references_are_error_verdicts(v, reference, match):
    import re

    verdict = v.verify("{}", reference)
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_reference"
    assert re.search(match, verdict.failure_reason.message)


def test_compiled_validators_are_cached_and_bounded():
    v = JsonSchemaVerifier(JsonSchemaConfig(cache_size=2))
    for i in range(5):
        assert v.verify(str(i), {"schema": {"const": i}}).passed
    assert len(v._compiled) == 2
    assert v.verify("4", {"schema": {"const": 4}}).passed


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("max_depth", 0, "max_depth must be a positive int, got 0"),
        ("max_response_chars", True, "max_response_chars must be a positive int"),
        ("regex_budget_s", 0, "regex_budget_s must be > 0 seconds, got 0"),
    ],
)
def test_config_validation(field, value, match):
    with pytest.raises(ValueError, match=match):
        JsonSchemaConfig(**{field: value})


def test_canonical_equality_matches_json_schema():
    c = _keywords.canonical
    assert c({"a": 1, "b": [1.0]}) == c({"b": [1], "a": 1.0})
    assert c(True) != c(1) and c(None) != c("None") and c([1]) != c({"0": 1})


# -- remote references are never fetched ----------------------------------------------------


def test_remote_ref_is_an_error_and_nothing_is_fetched(v, listener):
    url = f"http://127.0.0.1:{listener}/schema.json"
    verdict = v.verify("1", {"schema": {"$ref": url}})
    assert verdict.status is Status.ERROR and _code(verdict) == "unresolvable_ref"
    assert "never fetched" in verdict.failure_reason.message
    nested = v.verify('{"a": 1}', {"schema": {"properties": {"a": {"$ref": url + "#/x"}}}})
    assert _code(nested) == "unresolvable_ref"
    via_id = v.verify(
        "1", {"schema": {"$id": f"http://127.0.0.1:{listener}/root.json", "$ref": "other.json"}}
    )
    assert _code(via_id) == "unresolvable_ref"


_AUDIT: list = []
_AUDIT_ON: list = []


def _audit(event, args):
    if _AUDIT_ON and event in ("open", "socket.connect", "urllib.Request", "socket.getaddrinfo"):
        _AUDIT.append((event, str(args[0])[:200]))


@pytest.fixture
def io_audit():
    """Records file opens and network calls made from Python while the test body runs."""
    if not getattr(sys, "_rlvr_json_audit", False):
        sys.addaudithook(_audit)
        sys._rlvr_json_audit = True
    _AUDIT.clear()
    _AUDIT_ON.append(True)
    yield _AUDIT
    _AUDIT_ON.clear()


def test_file_and_remote_refs_open_nothing(v, io_audit, tmp_path, listener):
    secret = tmp_path / "schema.json"
    secret.write_text('{"type": "string", "description": "RLVR-SECRET-json"}')
    refs = [
        secret.as_uri(),
        str(secret),
        f"http://127.0.0.1:{listener}/s.json",
        "https://example.com/s.json",
    ]
    io_audit.clear()  # the test's own write above
    verdicts = [v.verify('"x"', {"schema": {"$ref": ref}}) for ref in refs]
    assert [_code(x) for x in verdicts] == ["unresolvable_ref"] * len(refs)
    assert "RLVR-SECRET-json" not in json.dumps([x.to_dict() for x in verdicts])
    assert [e for e in io_audit if str(tmp_path) in e[1] or e[0] != "open"] == []


def test_metaschema_refs_resolve_offline(v):
    schema = {"$ref": "https://json-schema.org/draft/2020-12/schema"}
    assert v.verify('{"type": "string"}', {"schema": schema}).passed
    assert v.verify('{"type": 5}', {"schema": schema}).status is Status.FAIL


# -- hostile input: bounded in time, always a verdict ----------------------------------------

CATASTROPHIC = {"type": "string", "pattern": "^(a|aa)+$"}


def test_catastrophic_pattern_direct_call_times_out_in_process():
    v = JsonSchemaVerifier(JsonSchemaConfig(regex_budget_s=0.2))
    verdict = v.verify(json.dumps("a" * 60 + "!"), {"schema": CATASTROPHIC})
    assert verdict.status is Status.TIMEOUT and _code(verdict) == "regex_timeout"


def test_many_catastrophic_strings_share_one_budget():
    v = JsonSchemaVerifier(JsonSchemaConfig(regex_budget_s=0.2))
    verdict = v.verify(json.dumps(["a" * 60 + "!"] * 200), {"schema": {"items": CATASTROPHIC}})
    assert verdict.status is Status.TIMEOUT
    # one shared budget, not 200 of them (a sanity bound, not a timing test)
    assert verdict.elapsed_s < 60


def test_catastrophic_pattern_properties_time_out():
    v = JsonSchemaVerifier(JsonSchemaConfig(regex_budget_s=0.2))
    verdict = v.verify(
        json.dumps({"a" * 60 + "!": 1}), {"schema": {"patternProperties": {"^(a|a)*$": {}}}}
    )
    assert verdict.status is Status.TIMEOUT


def test_catastrophic_pattern_in_batch_ends_as_verdict():
    items = [
        GradeItem(json.dumps("a" * 60 + "!"), {"schema": CATASTROPHIC}, "json_schema@1"),
        GradeItem('"aaaa"', {"schema": CATASTROPHIC}, "json_schema@1"),
    ]
    verdicts = grade_batch(items, workers=1, timeout_s=30)
    assert [v.status for v in verdicts] == [Status.TIMEOUT, Status.PASS]


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
def test_200k_deep_nesting_is_unparseable(opener, closer):
    v = JsonSchemaVerifier(JsonSchemaConfig(max_response_chars=5_000_000))
    text = opener * 200_000 + "1" + closer * 200_000
    verdict = v.verify(text, {"schema": {}})
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) == "too_deep"


def test_deep_nesting_inside_a_fence_is_unparseable(v):
    verdict = v.verify("```json\n" + "[" * 200_000 + "]" * 200_000 + "\n```", {"schema": {}})
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) == "too_deep"


def test_max_depth_is_exact():
    v = JsonSchemaVerifier(JsonSchemaConfig(max_depth=5))
    assert v.verify("[" * 5 + "]" * 5, {"schema": {}}).passed
    assert _code(v.verify("[" * 6 + "]" * 6, {"schema": {}})) == "too_deep"


def test_recursive_schema_at_max_depth_validates(v):
    schema = {
        "$defs": {"t": {"type": "object", "properties": {"c": {"$ref": "#/$defs/t"}}}},
        "$ref": "#/$defs/t",
    }
    deep = '{"c":' * 127 + "{}" + "}" * 127
    assert v.verify(deep, {"schema": schema}).passed


@pytest.mark.parametrize(
    "text,code",
    [
        ("9" * 5000, "number_too_large"),
        ('{"x": ' + "9" * 100_000 + "}", "number_too_large"),
        ("0." + "1" * 5000, "number_too_large"),
        ("1e999", "number_out_of_range"),
        ("-1e400", "number_out_of_range"),
        ("NaN", "non_finite_number"),
        ("[Infinity]", "non_finite_number"),
        ('{"x": -Infinity}', "non_finite_number"),
    ],
)
def test_huge_and_non_finite_numbers_are_unparseable(v, text, code):
    verdict = v.verify(text, {"schema": {}})
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) == code


def test_huge_integer_against_numeric_keywords(v):
    big = "9" * 1000
    for schema in (
        {"multipleOf": 0.5},
        {"maximum": 1.5},
        {"minimum": 1e308},
        {"exclusiveMaximum": 10},
    ):
        verdict = v.verify(big, {"schema": schema})
        assert verdict.status in (Status.PASS, Status.FAIL), (schema, verdict.failure_reason)


@pytest.mark.parametrize(
    "text", ["x" * 5_000_000, "```\n" * 1_500_000, "[" + "1," * 2_000_000 + "1]"]
)
def test_megabytes_of_text_are_unparseable(v, text):
    verdict = v.verify(text, {"schema": {}})
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) == "response_too_large"


def test_large_but_allowed_document_is_judged(v):
    items = [{"id": i, "tags": ["a", "b"]} for i in range(20_000)]
    schema = {"type": "array", "uniqueItems": True, "items": {"type": "object", "required": ["id"]}}
    assert v.verify(json.dumps(items), {"schema": schema}).passed
    verdict = v.verify(json.dumps(items + [{"tags": ["a", "b"], "id": 7}]), {"schema": schema})
    assert (
        verdict.status is Status.FAIL
        and "non-unique" in verdict.details["violations"][0]["message"]
    )


def test_surrogates_and_control_characters_do_not_crash(v):
    for text in ['"\\ud800"', '"\x00"', "\ud800", '{"a": "\\u0000"}']:
        verdict = v.verify(text, {"schema": {"type": "string"}})
        assert verdict.status in (Status.PASS, Status.FAIL, Status.UNPARSEABLE)
        json.dumps(verdict.to_dict())


def test_test_case_hash_is_the_stable_hash_of_the_reference(v):
    from verifiers.hashing import stable_hash

    reference = {
        "schema": {"type": "object", "properties": {"é": {"const": [1, 2.5, None, True]}}},
        "partial_credit": False,
    }
    assert v.test_case_hash(reference) == stable_hash(reference)
    odd = {"schema": {"const": float("nan")}}  # not plain JSON: falls back to stable_hash
    assert v.test_case_hash(odd) == stable_hash(odd)


def test_hostile_regex_format_is_a_fail_not_a_crash(v):
    verdict = v.verify(json.dumps("(" * 50_000), {"schema": {"format": "regex"}})
    assert (
        verdict.status is Status.FAIL
        and "is not a 'regex'" in verdict.details["violations"][0]["message"]
    )
    assert v.verify('"^a+$"', {"schema": {"format": "regex"}}).passed


@pytest.mark.parametrize(
    "text", ["```\n" * 999_000, "~~~~\n" * 790_000, "```json\n" + "a\n" * 1_990_000]
)
def test_megabytes_of_fences_end_as_a_verdict(v, text):
    verdict = v.verify(text, {"schema": {}})
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) in {
        "invalid_json",
        "response_too_large",
    }


def test_only_the_first_fence_lines_are_scanned():
    text = "```\nA\n```\n" * 600 + "```json\n{}\n```"
    assert _extract.fenced_blocks(text, max_fence_lines=10)[-1].text == "A"
    # 1200 fence lines seen first
    assert _extract.pick_block(_extract.fenced_blocks(text), ("json",)).text == "A"
