"""Which rules a schema is validated by (``json_schema@2``): its dialect, vocabularies and validator
class.

The dialect comes from ``$schema``: a standard one (draft 3 to 2020-12), or a custom metaschema
that the reference carries under ``resources`` and whose own ``$schema`` is standard. A custom
metaschema may list ``$vocabulary`` (2019-09 and 2020-12): keywords of a standard vocabulary it
leaves out are ignored, a required vocabulary this module does not know is refused, and the
format-assertion vocabulary makes ``format`` an assertion.

Validator classes come from :func:`bounded_class`: the dialect's ``jsonschema`` class with the
bounded keywords of :mod:`._keywords`, and one that stays bounded when a subschema switches
dialect with its own ``$schema`` (``jsonschema`` would switch to its stock class, which matches
``pattern`` with :mod:`re`, outside the time budget).

>>> dialect_of({"type": "integer"}, {}).validator.__name__
'Draft202012Validator'
>>> meta = {"$schema": "https://json-schema.org/draft/2020-12/schema",
...         "$vocabulary": {"https://json-schema.org/draft/2020-12/vocab/core": True,
...                         "https://json-schema.org/draft/2020-12/vocab/applicator": True}}
>>> d = dialect_of({"$schema": "http://example.com/meta"}, {"http://example.com/meta": meta})
>>> "minimum" in d.ignored, "properties" in d.ignored
(True, False)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Mapping

import attrs
from jsonschema.validators import Draft202012Validator, extend, validator_for

from . import _keywords, _properties


class DialectProblem(Exception):
    """The schema's ``$schema`` or vocabularies cannot be honoured; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


_2020 = "https://json-schema.org/draft/2020-12/vocab/"
_2019 = "https://json-schema.org/draft/2019-09/vocab/"
_APPLICATOR = {
    "items",
    "contains",
    "additionalProperties",
    "properties",
    "patternProperties",
    "dependentSchemas",
    "propertyNames",
    "if",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
}
_VALIDATION = {
    "type",
    "const",
    "enum",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
}
_UNEVALUATED = {"unevaluatedItems", "unevaluatedProperties"}

VOCABULARIES: dict[str, frozenset[str]] = {
    _2020 + "core": frozenset({"$ref", "$dynamicRef"}),
    _2020 + "applicator": frozenset(_APPLICATOR | {"prefixItems"}),
    _2020 + "unevaluated": frozenset(_UNEVALUATED),
    _2020 + "validation": frozenset(_VALIDATION),
    _2020 + "meta-data": frozenset(),
    _2020 + "format-annotation": frozenset({"format"}),
    _2020 + "format-assertion": frozenset({"format"}),
    _2020 + "content": frozenset(),
    _2019 + "core": frozenset({"$ref", "$recursiveRef"}),
    _2019 + "applicator": frozenset(_APPLICATOR | _UNEVALUATED | {"additionalItems"}),
    _2019 + "validation": frozenset(_VALIDATION),
    _2019 + "meta-data": frozenset(),
    _2019 + "format": frozenset({"format"}),
    _2019 + "content": frozenset(),
}
"""Standard vocabulary URI -> the keywords ``jsonschema`` implements for it."""

FORMAT_ASSERTION = _2020 + "format-assertion"


@dataclass(frozen=True)
class Dialect:
    """How to validate against one schema."""

    validator: type
    """The dialect's stock ``jsonschema`` class (:func:`bounded_class` gives the one to use)."""
    metaschema: Any = None
    """The document the schema is checked against; ``None`` for the standard dialect's own."""
    ignored: frozenset[str] = frozenset()
    """Keywords of standard vocabularies the metaschema leaves out."""
    asserts_formats: bool = False
    """The metaschema asks for the format-assertion vocabulary."""


def dialect_of(
    schema: Any, resources: Mapping[str, Any], default: type = Draft202012Validator
) -> Dialect:
    """The :class:`Dialect` of ``schema``, whose custom metaschema (if any) is in ``resources``."""
    uri = schema.get("$schema") if isinstance(schema, dict) else None
    if uri is None:
        return Dialect(default)
    standard = validator_for(schema, default=None) if isinstance(uri, str) else None
    if standard is not None:
        return Dialect(standard)
    metaschema = resources.get(uri.rstrip("#")) if isinstance(uri, str) else None
    if not isinstance(metaschema, dict):
        raise DialectProblem(
            "unknown_schema_dialect",
            f"$schema {str(uri)[:200]!r} is not a known JSON Schema "
            "dialect; use draft-04, -06, -07, 2019-09 or 2020-12 (or leave $schema out for "
            'the default), or add its metaschema to the reference under "resources"',
        )
    base = (
        validator_for(metaschema, default=None)
        if isinstance(metaschema.get("$schema"), str)
        else None
    )
    if base is None:
        raise DialectProblem(
            "unknown_schema_dialect",
            f"the metaschema {uri[:200]!r} must itself have a standard "
            f"$schema (draft-04 to 2020-12), got {str(metaschema.get('$schema'))[:200]!r}",
        )
    ignored, asserts = _vocabularies(uri, metaschema.get("$vocabulary"))
    return Dialect(base, metaschema, ignored, asserts)


def _vocabularies(uri: str, listed: Any) -> tuple[frozenset[str], bool]:
    """``(ignored keywords, asserts formats)`` for a metaschema's ``$vocabulary``."""
    if not isinstance(listed, dict):
        return frozenset(), False
    unknown = sorted(
        v for v, required in listed.items() if required is True and v not in VOCABULARIES
    )
    if unknown:
        raise DialectProblem(
            "unknown_vocabulary",
            f"the metaschema {uri[:200]!r} requires vocabularies this "
            f"verifier does not implement: {unknown}; mark them false in its $vocabulary "
            "if the schema can be validated without them",
        )
    kept = set().union(*(VOCABULARIES[v] for v in listed if v in VOCABULARIES))
    left_out = set().union(*(words for v, words in VOCABULARIES.items() if v not in listed))
    return frozenset(left_out - kept), FORMAT_ASSERTION in listed


BOUNDED_KEYWORDS = {
    **_keywords.BOUNDED_KEYWORDS,
    "additionalProperties": _properties.additional_properties,
    "unevaluatedProperties": _properties.unevaluated_properties,
}
"""Keyword -> the implementation :func:`bounded_class` uses (every pattern match under the
budget)."""


@functools.lru_cache(maxsize=None)
def bounded_class(stock: type, ignored: frozenset[str] = frozenset()) -> type:
    """``stock`` with bounded keywords, ``ignored`` keywords switched off, and bounded dialect
    switches."""
    keywords = {word: check for word, check in BOUNDED_KEYWORDS.items() if word in stock.VALIDATORS}
    keywords.update({word: _keywords.ignored for word in ignored if word in stock.VALIDATORS})
    cls = extend(stock, keywords)
    cls.evolve = _evolve_bounded
    return cls


def _evolve_bounded(self: Any, **changes: Any) -> Any:
    """``jsonschema``'s ``evolve``, but a subschema's own ``$schema`` picks a bounded class too."""
    schema = changes.setdefault("schema", self.schema)
    cls = type(self)
    if isinstance(schema, dict) and isinstance(schema.get("$schema"), str):
        stock = validator_for(schema, default=None)
        cls = cls if stock is None else bounded_class(stock)
    for name, alias in _init_fields(type(self)):
        if alias not in changes:
            changes[alias] = getattr(self, name)
    return cls(**changes)


@functools.lru_cache(maxsize=None)
def _init_fields(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple((field.name, field.alias) for field in attrs.fields(cls) if field.init)
