"""Conformance of ``xml_schema@1`` with xmlschema's test cases (``../shared/conformance/xsd/``).

Every row of the derived ``index.jsonl`` (one per line of xmlschema's ``testfiles``) is either
graded or excluded with a reason:

* XSD 1.1 rows are excluded: ``xml_schema@1`` uses libxml2, an XSD 1.0 processor;
* rows whose schema imports, includes, redefines or overrides another document are excluded:
  ``xml_schema@1`` refuses them by design (``error``, ``schema_import_blocked``);
* an instance of a schema that the suite itself marks invalid is excluded: its expected error
  count comes from xmlschema validating with the part of the schema it could build;
* a schema that libxml2 needs about 45 s to compile (:data:`SLOW_TO_COMPILE`) is graded only when
  ``RLVR_CONFORMANCE_SLOW=1``, by :func:`test_slow_to_compile_schemas`.

Graded: an ``xsd`` row asks whether the schema is valid (expected 0 errors) and the verifier's
answer is whether it compiles the schema (anything but ``error``/``bad_schema``); an ``xml`` row
asks whether the document is valid (expected 0 errors) against the schema its ``xsi`` location
hint names, and the verifier's answer is ``pass`` (valid), ``fail`` (invalid) or
``error``/``bad_schema`` (the schema is refused, so nothing is valid).

The verifier is compared with raw libxml2 (``lxml.etree.XMLSchema`` on the files) on every graded
case and must agree with it on all of them; so every disagreement with the suite's expectation is
libxml2's. Those are named, with the reason, in ``verifiers/xml_schema/CONFORMANCE.md`` and pinned
in :data:`KNOWN_DISAGREEMENTS`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from conformance_paths import ROOT, read_jsonl, suite_path
from lxml import etree

from verifiers import Status
from verifiers.registry import get

CONFORMANCE_DOC = ROOT / "verifiers" / "xml_schema" / "CONFORMANCE.md"
SCHEMA_PROBE = "<conformance-probe/>"
"""The response graded when only the schema is in question (its verdict is about the schema)."""

VALID, INVALID, REFUSED = "valid", "invalid", "schema refused"

KNOWN_DISAGREEMENTS: dict[str, str] = {
    "examples/collection/collection3bis.xml": "libxml2 merges the author_dn key tables of both "
    "authors",
    "features/decoder/data4-mixed.xml": "libxml2 does not collapse whitespace in xs:dateTime",
    "features/derivations/invalid-restrictions2.xsd": "libxml2 does not check particle "
    "restrictions",
    "issues/issue_203/issue_203.xsd": "libxml2 does not check particle restrictions (order)",
    "issues/issue_222/issue_222.xml": "libxml2 compares a hexBinary fixed value as a string",
    "issues/issue_276/schema.xsd": "libxml2 counts one attribute use reached twice as a duplicate",
    "issues/issue_276/dummy.xml": "libxml2 refuses its schema (issues/issue_276/schema.xsd)",
    "issues/issue_306/issue_306-alt.xsd": "libxml2 counts maxOccurs=0 particles in the UPA check",
    "issues/issue_349/issue_349.xml": "libxml2 ignores vc:minVersion=\"1.1\" on the schema",
}
"""Case file -> why libxml2 (so ``xml_schema@1``) and the suite disagree (long form in
CONFORMANCE.md)."""

SLOW_TO_COMPILE = {
    "features/models/billion_laughs_model.xsd": "32 group definitions, each a sequence of two "
    "references to the one before: libxml2 takes about 45 s to compile it",
}
"""Case file -> why it is graded only on request (both the verifier and raw libxml2 compile it)."""

EXCLUDED_COUNTS = {
    "XSD 1.1": 25,
    "imports or includes": 25,
    "schema marked invalid by the suite": 1,
    "slow to compile (RLVR_CONFORMANCE_SLOW=1)": 1,
}
GRADED_COUNT = 83


@dataclass(frozen=True)
class Case:
    """One row of the index, with the schema it is graded against."""

    file: str
    kind: str
    """``xsd`` (is the schema valid?) or ``xml`` (is the document valid against its schema?)."""
    path: Path
    schema_path: Path
    expected: str
    """``valid`` or ``invalid``: the suite's expected error count is 0 or not."""


@dataclass(frozen=True)
class Graded:
    case: Case
    verifier: str
    libxml2: str


@lru_cache(maxsize=None)
def rows() -> tuple[dict, ...]:
    return tuple(read_jsonl(suite_path("xsd", "index.jsonl")))


def case_of(row: dict) -> Case:
    path = suite_path("xsd", "test_cases") / row["file"]
    if row["kind"] == "xsd":
        schema_path = path
    else:
        overrides = row.get("location_overrides") or {}
        locations = list(overrides.values()) or [
            hint["location"] for hint in row.get("schema_location_hints") or []
        ]
        assert len(locations) == 1, f"{row['file']}: expected one schema location, got {locations}"
        schema_path = (path.parent / locations[0]).resolve()
    return Case(
        row["file"],
        row["kind"],
        path,
        schema_path,
        VALID if row["expected_errors"] == 0 else INVALID,
    )


def exclusion(row: dict, case: Case) -> str | None:
    """Why ``row`` is not graded, or ``None``."""
    if row["xsd_version"] != "1.0":
        return "XSD 1.1"
    if row["file"] in SLOW_TO_COMPILE:
        return "slow to compile (RLVR_CONFORMANCE_SLOW=1)"
    verdict = get("xml_schema@1").verify(
        SCHEMA_PROBE, {"xsd": case.schema_path.read_text(encoding="utf-8")}
    )
    if verdict.failure_reason and verdict.failure_reason.code == "schema_import_blocked":
        return "imports or includes"
    if case.kind == "xml" and case.schema_path in invalid_schemas():
        return "schema marked invalid by the suite"
    return None


@lru_cache(maxsize=None)
def invalid_schemas() -> frozenset[Path]:
    root = suite_path("xsd", "test_cases")
    return frozenset(
        (root / r["file"]).resolve()
        for r in rows()
        if r["kind"] == "xsd" and r["xsd_version"] == "1.0" and r["expected_errors"] > 0
    )


def verifier_says(case: Case) -> str:
    reference = {"xsd": case.schema_path.read_text(encoding="utf-8")}
    response = SCHEMA_PROBE if case.kind == "xsd" else case.path.read_text(encoding="utf-8")
    verdict = get("xml_schema@1").verify(response, reference)
    if verdict.status is Status.ERROR:
        assert verdict.failure_reason.code == "bad_schema", (case.file, verdict.failure_reason)
        return REFUSED if case.kind == "xml" else INVALID
    if case.kind == "xsd":
        return VALID
    assert verdict.status in (Status.PASS, Status.FAIL), (
        case.file,
        verdict.status,
        verdict.failure_reason,
    )
    return VALID if verdict.status is Status.PASS else INVALID


def libxml2_says(case: Case) -> str:
    """The same question put to libxml2 directly, on the files."""
    try:
        schema = etree.XMLSchema(etree.parse(str(case.schema_path)))
    except etree.XMLSchemaParseError:
        return REFUSED if case.kind == "xml" else INVALID
    if case.kind == "xsd":
        return VALID
    return VALID if schema.validate(etree.parse(str(case.path))) else INVALID


@lru_cache(maxsize=None)
def graded() -> tuple[tuple[Graded, ...], Counter]:
    results, excluded = [], Counter()
    for row in rows():
        case = case_of(row)
        why = exclusion(row, case)
        if why:
            excluded[why] += 1
        else:
            results.append(Graded(case, verifier_says(case), libxml2_says(case)))
    return tuple(results), excluded


# -- tests -----------------------------------------------------------------------------------------


def test_scope():
    results, excluded = graded()
    print(
        f"\nxmlschema test cases: {len(rows())} rows, {len(results)} graded, excluded "
        f"{dict(excluded)}"
    )
    assert dict(excluded) == EXCLUDED_COUNTS
    assert len(results) == GRADED_COUNT == len(rows()) - sum(EXCLUDED_COUNTS.values())
    assert len({g.case.file for g in results}) == len(results)  # one XSD 1.0 row per file


def test_verifier_agrees_with_raw_libxml2_on_every_graded_case():
    results, _ = graded()
    assert [(g.case.file, g.verifier, g.libxml2) for g in results if g.verifier != g.libxml2] == []


def test_every_disagreement_with_the_suite_is_pinned():
    results, _ = graded()
    disagreeing = {
        g.case.file: f"expected {g.case.expected}, libxml2 and xml_schema@1: {g.verifier}"
        for g in results
        if g.verifier != g.case.expected
    }
    for kind in ("xsd", "xml"):
        mine = [g for g in results if g.case.kind == kind]
        print(
            f"\n{kind}: {sum(g.verifier == g.case.expected for g in mine)}/{len(mine)} agree with "
            "the suite"
        )
    for file, why in sorted(disagreeing.items()):
        print(f"  {file}: {why}")
    assert set(disagreeing) == set(KNOWN_DISAGREEMENTS)


@pytest.mark.slow
def test_slow_to_compile_schemas():
    if os.environ.get("RLVR_CONFORMANCE_SLOW") != "1":
        reason = (
            f"{len(SLOW_TO_COMPILE)} schema(s) take libxml2 about 45 s each; "
            "set RLVR_CONFORMANCE_SLOW=1"
        )
        print(f"SKIP {reason}")
        pytest.skip(reason)
    for row in rows():
        if row["file"] in SLOW_TO_COMPILE and row["xsd_version"] == "1.0":
            case = case_of(row)
            assert verifier_says(case) == libxml2_says(case) == case.expected


def test_conformance_doc_names_the_pinned_disagreements():
    """The ``## Disagreements`` section of CONFORMANCE.md names exactly the pinned case files."""
    section = (
        CONFORMANCE_DOC.read_text(encoding="utf-8")
        .split("## Disagreements", 1)[1]
        .split("\n## ", 1)[0]
    )
    assert set(re.findall(r"`([\w./-]+\.(?:xsd|xml))`", section)) == set(KNOWN_DISAGREEMENTS)


# -- the libxml2 behaviour behind the reasons, on minimal schemas ----------------------------------

XS = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'


def _schema(body: str):
    return etree.XMLSchema(etree.fromstring(f"<xs:schema {XS}>{body}</xs:schema>"))


def test_libxml2_does_not_collapse_whitespace_in_date_time_values():
    """xs:dateTime's whiteSpace facet is collapse (fixed); libxml2 refuses the padded value
    anyway."""
    date_time, decimal = (
        _schema('<xs:element name="a" type="xs:dateTime"/>'),
        _schema('<xs:element name="a" type="xs:decimal"/>'),
    )
    assert date_time.validate(etree.fromstring("<a>2017-10-21T13:00:00</a>"))
    assert not date_time.validate(etree.fromstring("<a> 2017-10-21T13:00:00 </a>"))
    assert decimal.validate(etree.fromstring("<a> 10.0 </a>"))


def test_libxml2_does_not_check_particle_restrictions():
    """A restriction whose content is not a restriction of its base's (Particle Valid
    (Restriction))."""
    _schema(
        '<xs:complexType name="B"><xs:sequence><xs:element '
        'name="a"/></xs:sequence></xs:complexType><xs:complexType '
        'name="R"><xs:complexContent><xs:restriction base="B"><xs:sequence><xs:element '
        'name="not_in_base"/></xs:sequence></xs:restriction></xs:complexContent></xs:complexType>'
    )


def test_libxml2_compares_a_hex_binary_fixed_value_as_a_string():
    """ABCEDF and abcedf are one hexBinary value (the canonical form is upper case)."""
    schema = _schema('<xs:element name="a" type="xs:hexBinary" fixed="abcedf"/>')
    assert schema.validate(etree.fromstring("<a>abcedf</a>"))
    assert not schema.validate(etree.fromstring("<a>ABCEDF</a>"))
