"""xml_schema@1: schemas, XPath assertions, and hostile documents that must fetch and read
nothing."""

from __future__ import annotations

import ctypes
import doctest
import json
import os
import sys
import warnings

import pytest

import verifiers
from verifiers import GradeItem, Status, grade_batch
from verifiers.xml_schema import XmlSchemaConfig, XmlSchemaVerifier
from verifiers.xml_schema import _safe

XS = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'
XSD = (
    f'<xs:schema {XS}><xs:element name="a"><xs:complexType><xs:sequence>'
    '<xs:element name="b" type="xs:integer" '
    'maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element></xs:schema>'
)
RNG = (
    '<element name="a" xmlns="http://relaxng.org/ns/structure/1.0">'
    '<oneOrMore><element name="b"><text/></element></oneOrMore></element>'
)
DTD = "<!ELEMENT a (b+)> <!ELEMENT b (#PCDATA)>"
SECRET = "RLVR-SECRET-7f3a91c2"


@pytest.fixture
def v():
    return XmlSchemaVerifier()


def _code(verdict):
    return verdict.failure_reason.code if verdict.failure_reason else None


class _OpenWatch:
    """Counts opens/reads of one file with Linux inotify (libxml2 reads files in C, out of Python's
    sight)."""

    IN_ACCESS, IN_OPEN, IN_NONBLOCK = 0x01, 0x20, 0o4000

    def __init__(self, path) -> None:
        self.fd = -1
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK)
        if (
            self.fd >= 0
            and libc.inotify_add_watch(self.fd, os.fsencode(path), self.IN_OPEN | self.IN_ACCESS)
            < 0
        ):
            os.close(self.fd)
            self.fd = -1

    def events(self) -> int:
        try:
            return len(os.read(self.fd, 65536))
        except BlockingIOError:
            return 0

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def secret_file(tmp_path):
    """A local file that must never be opened, and whose content must never show up in any
    verdict."""
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    watch = _OpenWatch(path)
    if watch.fd < 0:
        warnings.warn("inotify unavailable: only checking that the secret never appears in output")
        yield path
        return
    assert watch.events() == 0
    yield path
    opened = watch.events()
    watch.close()
    assert opened == 0, f"the grader opened or read {path}"


def test_open_watch_sees_a_read(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("x")
    watch = _OpenWatch(path)
    if watch.fd < 0:
        pytest.skip("inotify is Linux-only")
    path.read_text()
    assert watch.events() > 0
    watch.close()


def test_registered_and_described():
    assert isinstance(verifiers.get("xml_schema@1"), XmlSchemaVerifier)
    assert XmlSchemaVerifier.__doc__.strip().endswith("Versions: 1 - first version.")


@pytest.mark.parametrize("module", [_safe, verifiers.xml_schema])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("kind,schema", [("xsd", XSD), ("relaxng", RNG), ("dtd", DTD)])
def test_each_schema_kind_passes_and_fails(v, kind, schema):
    assert v.verify("<a><b>1</b><b>2</b></a>", {kind: schema}).passed
    bad = v.verify("<a><c/></a>", {kind: schema})
    assert bad.status is Status.FAIL and _code(bad) == "schema_violation"
    assert bad.details["violation_count"] >= 1 and bad.details["violations"][0]["line"] == 1


def test_fenced_block_is_used_when_the_whole_text_is_not_xml(v):
    verdict = v.verify("Here:\n```xml\n<a><b>1</b></a>\n```\nThanks", {"xsd": XSD})
    assert verdict.passed


def test_xpath_results_are_reported(v):
    ref = {
        "xpath": [{"expr": "//b", "equals": ["1", "2"]}, {"expr": "count(//b) > 5", "equals": True}]
    }
    verdict = v.verify("<a><b>1</b><b>2</b></a>", ref)
    assert verdict.status is Status.FAIL and _code(verdict) == "xpath_mismatch"
    assert verdict.details["xpath"] == [
        {"expr": "//b", "ok": True, "got": ["1", "2"]},
        {"expr": "count(//b) > 5", "ok": False, "got": False},
    ]
    assert verdict.pass_rate == 0.5 and verdict.score == 0.0


@pytest.mark.parametrize(
    "expr", ["$undefined", "document('file:///etc/passwd')", "no-such-function(1)"]
)
def test_an_xpath_that_cannot_be_evaluated_is_a_bad_reference_not_a_fail(v, expr):
    verdict = v.verify("<a/>", {"xpath": [{"expr": expr, "equals": 1}]})
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_reference"
    assert "cannot be evaluated" in verdict.failure_reason.message


@pytest.mark.parametrize(
    "reference,match",
    [
        ({}, "needs a schema"),
        ({"xsd": XSD, "relaxng": RNG}, "give one schema"),
        ({"xsd": 5}, "must be the schema text"),
        ({"xpath": "//a"}, '"xpath" must be a list'),
        ({"xpath": [{"expr": "//a", "equals": 1, "extra": 2}]}, '"xpath" must be a list'),
        ({"xpath": [{"expr": "//a[", "equals": 1}]}, "does not compile"),
        ({"xsd": XSD, "namespaces": {"p": 1}}, '"namespaces" must map'),
        ({"xsd": XSD, "partial_credit": "y"}, "must be true or false"),
        ({"xsd": XSD, "rng": RNG}, r"unknown reference key\(s\) \['rng'\]"),
    ],
)
def test_bad_references_are_error_verdicts(v, reference, match):
    import re

    verdict = v.verify("<a/>", reference)
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_reference"
    assert re.search(match, verdict.failure_reason.message)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("max_depth", 1000, "exceeds libxml2's bound of 256"),
        ("max_depth", 0, "must be a positive int, got 0"),
        ("cache_size", 1.5, "cache_size must be a positive int"),
    ],
)
def test_config_validation(field, value, match):
    with pytest.raises(ValueError, match=match):
        XmlSchemaConfig(**{field: value})


def test_schemas_are_cached_and_bounded():
    v = XmlSchemaVerifier(XmlSchemaConfig(cache_size=2))
    for name in "abcd":
        assert v.verify(f"<{name}/>", {"dtd": f"<!ELEMENT {name} EMPTY>"}).passed
    assert len(v._compiled) == 2


# -- hostile documents ------------------------------------------------------------------------


def _all_output(verdicts) -> str:
    return "\n".join(json.dumps(v.to_dict(), ensure_ascii=False) for v in verdicts)


def _hostile_documents(secret_path, port):
    url = f"http://127.0.0.1:{port}"
    laughs = (
        '<!DOCTYPE a [<!ENTITY l0 "lol">'
        + "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
        + "]><a><b>&l9;</b></a>"
    )
    return {
        "billion_laughs": laughs,
        "quadratic_blowup": '<!DOCTYPE a [<!ENTITY x "'
        + "x" * 50_000
        + '">]><a><b>'
        + "&x;" * 2000
        + "</b></a>",
        "xxe_file": f'<!DOCTYPE a [<!ENTITY s SYSTEM "file://{secret_path}">]><a><b>&s;</b></a>',
        "xxe_file_plain_path": '<!DOCTYPE a [<!ENTITY s SYSTEM '
        f'"{secret_path}">]><a><b>&s;</b></a>',
        "xxe_port": f'<!DOCTYPE a [<!ENTITY s SYSTEM "{url}/x">]><a><b>&s;</b></a>',
        "parameter_entity_file": f'<!DOCTYPE a [<!ENTITY % p SYSTEM "file://{secret_path}"> '
        '%p;]><a><b>1</b></a>',
        "parameter_entity_port": f'<!DOCTYPE a [<!ENTITY % p SYSTEM "{url}/p.dtd"> '
        '%p;]><a><b>1</b></a>',
        "external_dtd_port": f'<!DOCTYPE a SYSTEM "{url}/a.dtd"><a><b>1</b></a>',
        "external_dtd_file": f'<!DOCTYPE a SYSTEM "{secret_path}"><a><b>1</b></a>',
        "xinclude_file": '<a xmlns:xi="http://www.w3.org/2001/XInclude"><b>1</b><xi:include '
        f'href="{secret_path}" parse="text"/></a>',
        "xsi_location_port": '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{url}/a.xsd"><b>1</b></a>',
        "xsi_location_file": '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{secret_path}"><b>1</b></a>',
        "deep_100k": "<a>" * 100_000 + "</a>" * 100_000,
    }


EXPECTED = {
    "billion_laughs": ("unparseable", "entity_forbidden"),
    "quadratic_blowup": ("unparseable", "entity_forbidden"),
    "xxe_file": ("unparseable", "entity_forbidden"),
    "xxe_file_plain_path": ("unparseable", "entity_forbidden"),
    "xxe_port": ("unparseable", "entity_forbidden"),
    "parameter_entity_file": ("unparseable", "entity_forbidden"),
    "parameter_entity_port": ("unparseable", "entity_forbidden"),
    "external_dtd_port": ("pass", None),
    "external_dtd_file": ("pass", None),
    "xinclude_file": ("fail", "schema_violation"),  # the xi:include element stays an element
    "xsi_location_port": ("pass", None),
    "xsi_location_file": ("pass", None),
    "deep_100k": ("unparseable", "too_deep"),
}


@pytest.mark.parametrize("kind,schema", [("xsd", XSD), ("relaxng", RNG), ("dtd", DTD)])
def test_hostile_documents_read_and_fetch_nothing(v, kind, schema, secret_file, listener):
    docs = _hostile_documents(secret_file, listener)
    got = {}
    for name, doc in docs.items():
        verdict = v.verify(doc, {kind: schema, "xpath": [{"expr": "count(//b)", "equals": 1}]})
        got[name] = verdict
    expected = dict(EXPECTED)
    if kind != "xsd":  # only XSD knows xsi:*SchemaLocation attributes; RELAX NG and DTD reject them
        expected.update(
            xsi_location_port=("fail", "schema_violation"),
            xsi_location_file=("fail", "schema_violation"),
        )
    assert {n: (g.status.value, _code(g)) for n, g in got.items()} == expected
    assert SECRET not in _all_output(got.values())


def test_hostile_documents_in_a_batch_read_and_fetch_nothing(secret_file, listener):
    docs = _hostile_documents(secret_file, listener)
    items = [GradeItem(doc, {"xsd": XSD}, "xml_schema@1", name) for name, doc in docs.items()]
    verdicts = grade_batch(items, workers=2, timeout_s=30)
    assert [(v.status.value, _code(v)) for v in verdicts] == list(EXPECTED.values())
    assert SECRET not in _all_output(verdicts)


@pytest.mark.parametrize(
    "kind,schema_template",
    [
        (
            "xsd",
            f'<xs:schema {XS}><xs:import namespace="urn:x" '
            f'schemaLocation="{{url}}/x.xsd"/><xs:element name="a"/></xs:schema>',
        ),
        (
            "xsd",
            f'<xs:schema {XS}><xs:include schemaLocation="{{url}}/x.xsd"/><xs:element '
            'name="a"/></xs:schema>',
        ),
        (
            "xsd",
            f'<xs:schema {XS}><xs:redefine schemaLocation="{{file}}"/><xs:element '
            'name="a"/></xs:schema>',
        ),
        (
            "xsd",
            f'<xs:schema {XS}><xs:include schemaLocation="{{file}}"/><xs:element '
            'name="a"/></xs:schema>',
        ),
        (
            "xsd",
            f'<!DOCTYPE xs:schema [<!ENTITY s SYSTEM "{{file}}">]><xs:schema {XS}><xs:element '
            'name="a"><xs:annotation><xs:documentation>&s;</xs:documentation></xs:annotation>'
            '</xs:element></xs:schema>',
        ),
        (
            "relaxng",
            '<grammar xmlns="http://relaxng.org/ns/structure/1.0"><include '
            'href="{file}"/><start><element name="a"><empty/></element></start></grammar>',
        ),
        (
            "relaxng",
            '<element name="a" xmlns="http://relaxng.org/ns/structure/1.0"><externalRef '
            'href="{url}/b.rng"/></element>',
        ),
        ("dtd", '<!ELEMENT a ANY> <!ENTITY % p SYSTEM "{file}"> %p;'),
        ("dtd", '<!ELEMENT a ANY> <!ENTITY e SYSTEM "{url}/e">'),
        ("dtd", '<!ELEMENT a ANY> <!ENTITY % p PUBLIC "-//x//y" "{url}/p"> %p;'),
    ],
)
def test_schema_imports_are_blocked(v, kind, schema_template, secret_file, listener):
    schema = schema_template.format(url=f"http://127.0.0.1:{listener}", file=secret_file)
    verdict = v.verify("<a/>", {kind: schema})
    assert verdict.status is Status.ERROR and _code(verdict) == "schema_import_blocked"
    assert SECRET not in _all_output([verdict])


def test_100k_deep_nesting_ends_quickly_as_unparseable(v):
    verdict = v.verify(
        "<a>" * 100_000 + "x" + "</a>" * 100_000, {"xpath": [{"expr": "1", "equals": 1}]}
    )
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) == "too_deep"


def test_depth_limit_is_exact():
    v = XmlSchemaVerifier(XmlSchemaConfig(max_depth=4))
    ref = {"xpath": [{"expr": "count(//a)", "equals": 4}]}
    assert v.verify("<a>" * 4 + "</a>" * 4, ref).passed
    assert _code(v.verify("<a>" * 5 + "</a>" * 5, ref)) == "too_deep"


@pytest.mark.parametrize("text", ["<a>" + "x" * 2_000_000 + "</a>", "y" * 5_000_000])
def test_megabytes_of_text_are_unparseable(v, text):
    verdict = v.verify(text, {"dtd": DTD})
    assert verdict.status is Status.UNPARSEABLE and _code(verdict) == "response_too_large"


def test_odd_text_never_crashes(v):
    for text in [
        "\x00<a/>",
        "<a>\ud800</a>",
        "<?xml version='1.0' encoding='UTF-16'?><a><b>1</b></a>",
        "<a",
        "&amp;",
    ]:
        verdict = v.verify(text, {"dtd": DTD})
        assert verdict.status in (Status.PASS, Status.FAIL, Status.UNPARSEABLE), (
            text,
            verdict.failure_reason,
        )
        json.dumps(verdict.to_dict())


def test_fenced_block_after_a_long_preamble_is_found():
    v = XmlSchemaVerifier(XmlSchemaConfig(max_response_chars=1000))
    text = "thinking " * 200 + "\n```xml\n<a><b>1</b></a>\n```"
    assert v.verify(text, {"dtd": DTD}).passed
    assert (
        _code(v.verify("x" * 5000 + "\n```xml\n<a><b>1</b></a>\n```", {"dtd": DTD}))
        == "response_too_large"
    )


def test_relaxng_compact_syntax_is_an_error_that_names_the_xml_syntax(v):
    verdict = v.verify("<a>x</a>", {"relaxng": "element a { text }"})
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_schema"
    assert "compact syntax is not supported" in verdict.failure_reason.message


def test_a_verifier_instance_pickles_after_grading(v):
    import pickle

    from verifiers.xml_schema import XmlSchemaVerifier

    own = XmlSchemaVerifier()
    own.verify("<a/>", {"xsd": XSD})
    clone = pickle.loads(pickle.dumps(own))
    assert (
        clone.verify("<a/>", {"xsd": XSD}).identity() == own.verify("<a/>", {"xsd": XSD}).identity()
    )


@pytest.mark.parametrize(
    "reference, match",
    [
        (
            {"xpath": [{"expr": "//y", "equals": "1"}], "namespaces": {"": "urn:b"}},
            "XPath 1.0 has no default namespace",
        ),
        (
            {"xpath": [{"expr": "//y", "equals": {"a": 1}}]},
            "a value is a string, number, boolean or a list",
        ),
        (
            {"xpath": [{"expr": "//y", "equals": None}]},
            "a value is a string, number, boolean or a list",
        ),
    ],
)
def test_reference_mistakes_in_xpath_assertions_are_bad_references(v, reference, match):
    verdict = v.verify('<x xmlns="urn:b"><y>1</y></x>', reference)
    assert verdict.status is Status.ERROR and _code(verdict) == "bad_reference"
    assert match in verdict.failure_reason.message
