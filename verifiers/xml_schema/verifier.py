"""The ``xml_schema`` verifier and its config; see :class:`XmlSchemaVerifier`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from lxml import etree

from .._compiled import CompiledCache
from .._extract import fenced_blocks, pick_block
from ..base import BaseVerifier, Outcome
from ..errors import BadReferenceError
from ..hashing import stable_hash
from ..registry import register
from ._safe import Rejected, check_dtd_text, parse_document, parse_schema_document

SCHEMA_KEYS = ("xsd", "relaxng", "dtd")
REFERENCE_KEYS = frozenset({*SCHEMA_KEYS, "xpath", "namespaces", "partial_credit"})
LIBXML_MAX_DEPTH = 256


@dataclass(frozen=True)
class XmlSchemaConfig:
    """Bounds that keep ``xml_schema`` fast and safe on hostile responses.

    >>> XmlSchemaConfig(max_depth=64).max_depth
    64
    """

    max_response_chars: int = 1_000_000
    """Longest XML text parsed; longer is ``unparseable`` (code ``response_too_large``).
    Responses longer than four times this are not searched for fenced blocks either."""
    max_depth: int = 128
    """Deepest element nesting accepted (at most 256, libxml2's own bound); deeper is
    ``too_deep``."""
    max_violations: int = 100
    """Most schema-validation messages listed in ``details`` (all are counted)."""
    max_message_chars: int = 300
    """Longest message or XPath value kept in ``details``."""
    cache_size: int = 128
    """Compiled schemas kept, keyed by the schema text's hash."""

    def __post_init__(self) -> None:
        for name in (
            "max_response_chars",
            "max_depth",
            "max_violations",
            "max_message_chars",
            "cache_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"XmlSchemaConfig.{name} must be a positive int, got {value!r}")
        if self.max_depth > LIBXML_MAX_DEPTH:
            raise ValueError(
                f"XmlSchemaConfig.max_depth={self.max_depth} exceeds libxml2's bound of "
                f"{LIBXML_MAX_DEPTH} without huge_tree; use at most {LIBXML_MAX_DEPTH}"
            )


@register
class XmlSchemaVerifier(BaseVerifier):
    """Validate the XML in a response with ``lxml`` against a schema and XPath assertions.

    Reference: exactly one of ``{"xsd": TEXT}``, ``{"relaxng": TEXT}`` (XML syntax) or
    ``{"dtd": TEXT}``, and/or ``"xpath": [{"expr": XPATH, "equals": VALUE}, ...]`` (at least one
    of the two), optionally ``"namespaces": {prefix: uri}`` for the XPaths and
    ``"partial_credit": true``.

    Extraction: the whole response (stripped) is parsed first; if that fails, the first fenced
    block tagged ``xml`` (else the first untagged one) is parsed instead (see
    :mod:`verifiers._extract`); responses over four times ``max_response_chars`` are not searched.

    Safety: documents and schemas are parsed with no network, no DTD loading, no entity
    expansion, no XInclude, libxml2's depth/size limits and a resolver that refuses every outside
    document. A response that declares entities (XXE, entity bombs) is ``unparseable``
    (``entity_forbidden``); deeper than ``max_depth`` is ``too_deep``; longer than
    ``max_response_chars`` is ``response_too_large``. A schema that imports or includes any
    document (XSD ``import``/``include``/``redefine``/``override`` with a location, RELAX NG
    ``include``/``externalRef``, a DTD with ``SYSTEM``/``PUBLIC``) is an ``error``
    (``schema_import_blocked``) and nothing is fetched; a schema that does not compile is an
    ``error`` (``bad_schema``). The document's own DOCTYPE is ignored for validation.

    XPath: each ``expr`` is evaluated on the document; one that compiles but cannot be evaluated (an
    undefined variable or function) is an ``error`` (``bad_reference``). Node-set results become
    lists of their XPath string-values; numbers that are whole become ints. An ``equals`` that is a
    list is compared with the whole list; otherwise a one-node result is compared by its
    string-value. Numbers compare numerically, strings and booleans exactly; no other coercion.

    Verdict: ``pass`` when the schema (if any) accepts the document and every assertion holds.
    Otherwise ``fail`` with code ``schema_violation`` (schema messages in ``details``) or
    ``xpath_mismatch``. ``pass_rate`` is the fraction of checks passed (the schema is one check,
    each assertion one); the score is 0, or that fraction with ``"partial_credit": true``.

    Versions: 1 - first version.
    """

    name = "xml_schema"
    version = 1
    description = "XML (raw or fenced) validated with XSD / RELAX NG / DTD and XPath assertions"

    def __init__(self, config: XmlSchemaConfig | None = None) -> None:
        self.config = config or XmlSchemaConfig()
        self._compiled = CompiledCache(self.config.cache_size)

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        kind, assertions, namespaces, partial = _read_reference(reference)
        compiled_xpaths = _compile_xpaths(assertions, namespaces)
        try:
            schema = self._schema(kind, reference[kind]) if kind else None
        except Rejected as problem:
            return Outcome.error(problem.code, problem.message)
        try:
            tree = self._extract(response)
        except Rejected as rejected:
            return Outcome.unparseable(rejected.code, rejected.message)
        checks: list[bool] = []
        details: dict[str, Any] = {}
        if schema is not None:
            checks.append(self._validate(schema, tree, details))
        if assertions:
            results = [self._assert(xp, a, tree) for xp, a in zip(compiled_xpaths, assertions)]
            details["xpath"] = results
            checks.extend(r["ok"] for r in results)
        return _verdict(checks, schema is not None, details, partial)

    # -- extraction ------------------------------------------------------------------

    def _extract(self, response: str) -> Any:
        text = response.strip()
        if not text:
            raise Rejected("empty_response", "the response is empty")
        try:
            return self._parse(text)
        except Rejected as whole_failed:
            if len(text) > 4 * self.config.max_response_chars:
                raise
            block = pick_block(fenced_blocks(text), ("xml", "xsd", "svg", "html"))
            if block is None:
                if whole_failed.code == "invalid_xml":
                    raise Rejected(
                        "invalid_xml",
                        "the response is not XML and has no fenced ```xml block "
                        f"({whole_failed.message})",
                    ) from None
                raise
            return self._parse(block.text.strip())

    def _parse(self, text: str) -> Any:
        return parse_document(
            text, max_chars=self.config.max_response_chars, max_depth=self.config.max_depth
        )

    # -- checks ----------------------------------------------------------------------

    def _validate(self, schema: Any, tree: Any, details: dict[str, Any]) -> bool:
        valid = schema.validate(tree)
        if not valid:
            log = list(schema.error_log)
            details["violation_count"] = len(log)
            details["violations"] = [
                {"line": entry.line, "message": self._cut(entry.message)}
                for entry in log[: self.config.max_violations]
            ]
        return bool(valid)

    def _assert(self, xpath: Any, assertion: Mapping[str, Any], tree: Any) -> dict[str, Any]:
        try:
            got = _normalise(xpath(tree))
        # undefined variable or function, wrong argument types: the reference's fault
        except etree.XPathError as exc:
            raise BadReferenceError(
                f"XPath {assertion['expr'][:200]!r} cannot be evaluated: {exc}"
            ) from None
        ok = _matches(got, assertion["equals"])
        return {"expr": assertion["expr"], "ok": ok, "got": self._shown(got)}

    def _shown(self, got: Any) -> Any:
        if isinstance(got, list):
            return [self._cut(g) for g in got[:20]] + (["..."] if len(got) > 20 else [])
        return self._cut(got) if isinstance(got, str) else got

    def _cut(self, text: str) -> str:
        limit = self.config.max_message_chars
        return text if len(text) <= limit else text[:limit] + "..."

    # -- schema compilation (cached) -------------------------------------------------------

    def _schema(self, kind: str, text: str) -> Any:
        key = stable_hash([kind, text])
        return self._compiled.get_or_compile(key, lambda: _compile_schema(kind, text), Rejected)


def _compile_schema(kind: str, text: str) -> Any:
    if kind == "dtd":
        return check_dtd_text(text)
    root = parse_schema_document(text, kind)
    build = etree.XMLSchema if kind == "xsd" else etree.RelaxNG
    try:
        return build(root)
    except etree.XMLSchemaParseError as exc:
        raise Rejected("bad_schema", f"the XSD does not compile: {str(exc)[:300]}") from None
    except etree.RelaxNGParseError as exc:
        raise Rejected(
            "bad_schema", f"the RELAX NG schema does not compile: {str(exc)[:300]}"
        ) from None


def _verdict(
    checks: list[bool], has_schema: bool, details: dict[str, Any], partial: bool
) -> Outcome:
    rate = sum(checks) / len(checks)
    if all(checks):
        return Outcome.passed(pass_rate=rate, **details)
    if has_schema and not checks[0]:
        first = details["violations"][0]["message"] if details.get("violations") else "invalid"
        code, message = "schema_violation", f"the document does not match the schema: {first}"
    else:
        failed = [r["expr"] for r in details.get("xpath", []) if not r["ok"]]
        code, message = (
            "xpath_mismatch",
            f"{len(failed)} XPath assertion(s) failed, first: {failed[0]}",
        )
    return Outcome.failed(code, message, score=rate if partial else 0.0, pass_rate=rate, **details)


def _read_reference(reference: Mapping[str, Any]) -> tuple[str | None, list, dict, bool]:
    unknown = sorted(set(reference) - REFERENCE_KEYS)
    if unknown:
        raise BadReferenceError(
            f"unknown reference key(s) {unknown}; xml_schema@1 takes {sorted(REFERENCE_KEYS)}"
        )
    kinds = [k for k in SCHEMA_KEYS if k in reference]
    if len(kinds) > 1:
        raise BadReferenceError(
            f"give one schema, not {kinds}: use exactly one of 'xsd', 'relaxng' or 'dtd'"
        )
    kind = kinds[0] if kinds else None
    if kind and not isinstance(reference[kind], str):
        raise BadReferenceError(
            f"'{kind}' must be the schema text (a string), got {type(reference[kind]).__name__}"
        )
    assertions = reference.get("xpath", [])
    if not isinstance(assertions, list) or not all(_good_assertion(a) for a in assertions):
        raise BadReferenceError(
            '"xpath" must be a list of {"expr": "<XPath>", "equals": <value>} objects, '
            'where a value is a string, number, boolean or a list of those'
        )
    if kind is None and not assertions:
        raise BadReferenceError(
            "reference needs a schema ('xsd', 'relaxng' or 'dtd') or 'xpath' assertions"
        )
    namespaces = reference.get("namespaces", {})
    if not isinstance(namespaces, dict) or not all(isinstance(v, str) for v in namespaces.values()):
        raise BadReferenceError(
            '"namespaces" must map prefixes to namespace URIs, e.g. {"x": "urn:x"}'
        )
    if "" in namespaces:
        raise BadReferenceError(
            '"namespaces" has an empty prefix, but XPath 1.0 has no default namespace: '
            'bind a prefix, e.g. {"x": "urn:x"}, and write //x:item'
        )
    partial = reference.get("partial_credit", False)
    if not isinstance(partial, bool):
        raise BadReferenceError(f'"partial_credit" must be true or false, got {partial!r}')
    return kind, assertions, namespaces, partial


def _good_assertion(assertion: Any) -> bool:
    return (
        isinstance(assertion, dict)
        and isinstance(assertion.get("expr"), str)
        and "equals" in assertion
        and set(assertion) <= {"expr", "equals"}
        and _comparable(assertion["equals"])
    )


def _comparable(expected: Any) -> bool:
    """What an XPath result can equal: a string, number or boolean, or a list of those (null or an
    object never could, so they are reference errors rather than assertions that always fail)."""
    if isinstance(expected, list):
        return all(isinstance(e, (str, int, float)) for e in expected)
    return isinstance(expected, (str, int, float))


def _compile_xpaths(assertions: list, namespaces: dict) -> list[Any]:
    compiled = []
    for assertion in assertions:
        try:
            compiled.append(etree.XPath(assertion["expr"], namespaces=namespaces or None))
        except etree.XPathSyntaxError as exc:
            raise BadReferenceError(
                f"XPath {assertion['expr']!r} does not compile: {exc}"
            ) from None
    return compiled


_STRING_VALUE = etree.XPath("string()")


def _normalise(result: Any) -> Any:
    """An XPath result as plain JSON: bool, int/float, str, or a list of string-values."""
    if isinstance(result, bool):
        return result
    if isinstance(result, float):
        if math.isnan(result) or math.isinf(result):
            return repr(result)
        return int(result) if result.is_integer() else result
    if isinstance(result, str):
        return str(result)
    if isinstance(result, list):
        return [
            str(n)
            if isinstance(n, str)
            else (str(n) if isinstance(n, tuple) else str(_STRING_VALUE(n)))
            for n in result
        ]
    return str(result)


def _matches(got: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(_matches(g, e) for g, e in zip(got, expected))
        )
    if isinstance(got, list):
        return len(got) == 1 and _matches(got[0], expected)
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and got == expected
    if isinstance(expected, (int, float)):
        return isinstance(got, (int, float)) and got == expected
    return isinstance(expected, str) and isinstance(got, str) and got == expected
