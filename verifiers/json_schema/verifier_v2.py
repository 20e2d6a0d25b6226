"""The ``json_schema@2`` verifier; see :class:`JsonSchemaVerifierV2`."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from typing import Any, Mapping
from urllib.parse import urlsplit

import referencing.jsonschema
from jsonschema.validators import validator_for

from ..errors import BadReferenceError
from ..hashing import stable_hash
from ..registry import register
from . import _keywords, _resources
from ._dialects import Dialect, DialectProblem, bounded_class, dialect_of
from ._keywords import regex_budget
from .verifier import (
    REFERENCE_KEYS,
    JsonSchemaVerifier,
    _canonical_text,
    _pointer,
    _Reference,
    _SchemaProblem,
)

FORMAT_MODES = ("assert", "annotate")
"""Values of a reference's ``"formats"``: check every ``format``, or follow the dialect."""


@register
class JsonSchemaVerifierV2(JsonSchemaVerifier):
    """Validate the JSON in a response against ``reference["schema"]``, resolving ``$ref`` locally.

    Reference: ``{"schema": ..., "resources"?: {URI: schema}, "formats"?: "assert" | "annotate",
    "partial_credit"?: bool}``.

    Extraction, bounds, violations and partial credit are those of ``json_schema@1``: the whole
    response (stripped) is parsed as JSON, else the first fenced ``json`` block (else the first
    untagged one); oversized, too deep, non-finite or overlong numbers are ``unparseable``; a
    failing document is a ``fail`` (``schema_violation``) listing every violation (instance
    pointer, schema pointer, message; sorted, at most ``max_violations``), score 0 or, with
    ``"partial_credit": true``, the fraction of top-level ``required`` properties present and valid.

    Schema: the dialect comes from ``$schema`` (draft 3 to 2020-12, default 2020-12), or from a
    custom metaschema carried in ``resources`` whose own ``$schema`` is standard; its
    ``$vocabulary`` is honoured (keywords of left-out standard vocabularies are ignored, an
    unknown required vocabulary is an ``error``). The schema, and every resource, is checked
    against its metaschema first: a bad one is an ``error`` (``bad_schema``), never a ``fail``.
    ``pattern``, ``patternProperties`` and ``format: regex`` all use the :mod:`regex` module
    (``\\p{Letter}`` works), under one time budget per check (``regex_budget_s``; running out is a
    ``timeout``), in every subschema, whatever its ``$schema``.

    References: ``$ref`` resolves inside the schema, the bundled metaschemas and the documents
    under ``resources`` (absolute URI -> schema), with the ``referencing`` library. Nothing is
    ever fetched: a ``$ref`` to any other document is an ``error`` (``unresolvable_ref``) naming
    the URI to add under ``resources``. ``resources`` is test material, so it is part of the
    test-case hash.

    Formats: ``"formats": "assert"`` (the default, as in @1) checks every ``format`` the
    dialect's checker knows; ``"annotate"`` follows the dialect: ``format`` is an annotation in
    2020-12 (an assertion only when the metaschema lists the format-assertion vocabulary) and in
    drafts 3 to 7, whose specifications leave assertion to the implementation and whose
    required JSON-Schema-Test-Suite tests expect none.

    Conformance against JSON-Schema-Test-Suite is pinned by
    ``tests/conformance/test_jsonschema_suite.py``; see ``verifiers/json_schema/CONFORMANCE.md``.

    >>> v = JsonSchemaVerifierV2()
    >>> v.verify('"Ærø"', {"schema": {"pattern": "^\\\\p{Letter}+$"}}).status.value
    'pass'
    >>> ref = {"schema": {"$ref": "http://example.com/n.json"},
    ...        "resources": {"http://example.com/n.json": {"type": "integer"}}}
    >>> v.verify("7", ref).status.value, v.verify('"7"', ref).status.value
    ('pass', 'fail')
    >>> v.verify('"x"', {"schema": {"format": "email"}, "formats": "annotate"}).status.value
    'pass'

    Versions: 1 - first version. 2 - every pattern is checked and matched by the :mod:`regex`
    module under the time budget (@1 checked patterns with :mod:`re`, refusing valid ``\\p{...}``
    ones as ``bad_schema``, and matched them with unbounded :mod:`re` inside
    ``additionalProperties``, ``unevaluatedProperties`` and subschemas with their own
    ``$schema``); ``"resources"`` for remote ``$ref``\\ s, an absent one named in the verdict;
    ``"formats": "annotate"``; custom metaschemas and their ``$vocabulary``; resources checked
    against their metaschemas; draft 3 ignores ``multipleOf`` (its keyword is ``divisibleBy``).
    Why: @1 disagreed with 94 required JSON-Schema-Test-Suite tests, all of which need these.
    """

    version = 2
    description = (
        "JSON (raw or in a fenced block) validated against a JSON Schema, $refs resolved locally"
    )
    reference_keys = REFERENCE_KEYS | {"resources", "formats"}

    def _read_reference(self, reference: Mapping[str, Any]) -> _Reference:
        ref = super()._read_reference(reference)
        formats = reference.get("formats", "assert")
        if not isinstance(formats, str) or formats not in FORMAT_MODES:
            raise BadReferenceError(
                '"formats" must be "assert" (check every format, the default) or "annotate" '
                f"(follow the dialect: 2020-12 only annotates), got {formats!r}"
            )
        return replace(
            ref,
            resources=_resources.read_resources(reference.get("resources", {})),
            formats=formats,
        )

    def _cache_key(self, ref: _Reference) -> str:
        material = {"schema": ref.schema, "resources": ref.resources, "formats": ref.formats}
        return _canonical_text(material) or stable_hash(material)

    def _compile(self, ref: _Reference) -> Any:
        # metaschemas from resources may carry patterns
        with regex_budget(self.config.regex_budget_s):
            return _compile(ref)

    def _unresolvable_message(self, exc: Exception) -> str:
        uri = _resources.missing_uri(exc)
        if uri is None:
            return (
                "$ref could not be resolved (it points to nothing in its document): "
                f"{str(exc)[:200]}"
            )
        if not urlsplit(uri).scheme:
            return (
                f"$ref {uri[:200]!r} is relative to a schema without an absolute $id, so it names "
                "no document: "
                'give the schema an absolute "$id" and add the document under "resources" by its '
                'absolute URI'
            )
        example = json.dumps({"resources": {uri[:200]: {"...": "..."}}})
        return (
            f"$ref needs the document {uri[:200]!r}, which is neither in the schema nor in the "
            "reference's "
            f'"resources"; add it there, e.g. {example} (remote references are never fetched)'
        )


def _compile(ref: _Reference) -> Any:
    """A validator for ``ref.schema`` with ``ref.resources``, everything checked first."""
    dialect = _dialect(ref.schema, ref.resources)
    registry = _resources.registry(ref.resources, _specification(dialect.validator))
    _check(ref.schema, dialect, registry, "the schema")
    for uri, document in ref.resources.items():
        _check(
            document,
            _dialect(document, ref.resources, dialect.validator),
            registry,
            f"resource {uri[:200]!r}",
        )
    asserts = "format" not in dialect.ignored and (
        ref.formats == "assert" or dialect.asserts_formats
    )
    checker = _format_checker(dialect.validator) if asserts else None
    return bounded_class(dialect.validator, dialect.ignored)(
        ref.schema, registry=registry, format_checker=checker
    )


def _dialect(schema: Any, resources: Mapping[str, Any], default: type | None = None) -> Dialect:
    try:
        return (
            dialect_of(schema, resources)
            if default is None
            else dialect_of(schema, resources, default)
        )
    except DialectProblem as problem:
        raise _SchemaProblem(problem.code, problem.message) from None


def _check(document: Any, dialect: Dialect, registry: Any, what: str) -> None:
    """:class:`_SchemaProblem` unless ``document`` is valid against its metaschema."""
    metaschema = dialect.validator.META_SCHEMA if dialect.metaschema is None else dialect.metaschema
    stock = validator_for(metaschema, default=dialect.validator)
    meta = bounded_class(stock)(
        metaschema, registry=registry, format_checker=_format_checker(stock)
    )
    try:
        error = next(iter(meta.iter_errors(document)), None)
    except RecursionError:
        raise _SchemaProblem("bad_schema", f"{what} nests too deeply to be checked") from None
    if error is not None:
        where = _pointer(error.absolute_path) or "/"
        against = (
            f"a valid {dialect.validator.__name__[:-9]} schema"
            if dialect.metaschema is None
            else f"valid against its metaschema {str(document.get('$schema'))[:200]!r}"
        )
        raise _SchemaProblem(
            "bad_schema", f"{what} is not {against} at {where}: {error.message[:300]}"
        )


@functools.lru_cache(maxsize=None)
def _format_checker(stock: type) -> Any:
    return _keywords.format_checker(stock.FORMAT_CHECKER, same_engine_as_pattern=True)


def _specification(stock: type) -> Any:
    """How ``referencing`` reads a resource without ``$schema``: as the root's dialect."""
    return referencing.jsonschema.specification_with(
        stock.ID_OF(stock.META_SCHEMA), default=referencing.jsonschema.DRAFT202012
    )
