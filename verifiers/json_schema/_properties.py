"""``additionalProperties`` and ``unevaluatedProperties`` whose ``patternProperties`` go through
:func:`search`.

``jsonschema`` decides which properties ``patternProperties`` covers with :func:`re.search`
inside these two keywords, apart from the ``patternProperties`` keyword itself. So a ``\\p{L}``
pattern crashes them and a catastrophic one escapes the time budget. ``json_schema@2`` uses these
versions instead: the same logic and messages as ``jsonschema`` 4.26 (draft 2020-12 and 2019-09
evaluation rules), with every match made by :func:`._keywords.search`.

>>> from jsonschema import Draft202012Validator
>>> schema = {"patternProperties": {"^\\\\p{L}+$": {}}, "additionalProperties": False}
>>> validator, instance = Draft202012Validator(schema), {"Größe": 1, "x1": 2}
>>> [e.message for e in additional_properties(validator, False, instance, schema)]
["'x1' does not match any of the regexes: '^\\\\\\\\p{L}+$'"]
"""

from __future__ import annotations

from typing import Any, Iterator

from jsonschema.exceptions import ValidationError
from referencing.jsonschema import lookup_recursive_ref

from ._keywords import search


def additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = set(_not_covered(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            yield ValidationError(
                "Additional properties are not allowed (%s %s unexpected)"
                % _extras_msg(sorted(extras, key=str))
            )


def unevaluated_properties(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(
        validator, instance, schema, legacy="$recursiveRef" in validator.VALIDATORS
    )
    failing = []
    for name in instance:
        if name not in evaluated:
            for _ in validator.descend(instance[name], unevaluated, path=name, schema_path=name):
                failing.append(name)  # once per error, as jsonschema reports it
    if not failing:
        return
    if unevaluated is False:
        yield ValidationError(
            "Unevaluated properties are not allowed (%s %s unexpected)"
            % _extras_msg(sorted(failing, key=str))
        )
    else:
        yield ValidationError(
            "Unevaluated properties are not valid under the given schema "
            "(%s %s unevaluated and invalid)" % _extras_msg(failing)
        )


def _not_covered(instance: dict, schema: dict) -> Iterator[str]:
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for name in instance:
        if name not in properties and not any(search(p, name) for p in patterns):
            yield name


def _evaluated_keys(validator: Any, instance: dict, schema: Any, legacy: bool) -> list[str]:
    """The keys of ``instance`` that ``schema`` evaluates (``legacy``: draft 2019-09's rules)."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list[str] = []
    for keyword in ("$ref", "$recursiveRef" if legacy else "$dynamicRef"):
        if schema.get(keyword) is None:
            continue
        if keyword == "$recursiveRef":
            resolved = lookup_recursive_ref(validator._resolver)
        else:
            resolved = validator._resolver.lookup(schema[keyword])
        referred = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
        keys += _evaluated_keys(referred, instance, resolved.contents, legacy)
    keys += _evaluated_here(validator, instance, schema, legacy)
    if "patternProperties" in schema:
        keys += [name for name in instance for p in schema["patternProperties"] if search(p, name)]
    for name, subschema in schema.get("dependentSchemas", {}).items():
        if name in instance:
            keys += _evaluated_keys(validator, instance, subschema, legacy)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if next(validator.descend(instance, subschema), None) is None:
                keys += _evaluated_keys(validator, instance, subschema, legacy)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += _evaluated_keys(validator, instance, schema["if"], legacy)
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"], legacy)
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"], legacy)
    return keys


def _evaluated_here(validator: Any, instance: dict, schema: dict, legacy: bool) -> list[str]:
    """Keys evaluated by ``properties``, ``additionalProperties`` and ``unevaluatedProperties``
    themselves."""
    keys: list[str] = []
    if not legacy:
        properties = schema.get("properties")
        if validator.is_type(properties, "object"):
            keys += properties.keys() & instance.keys()
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if (subschema := schema.get(keyword)) is not None:
                keys += [
                    k
                    for k, v in instance.items()
                    if next(validator.descend(v, subschema), None) is None
                ]
        return keys
    for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
        value = schema.get(keyword)
        if validator.is_type(value, "boolean") and value:
            keys += instance.keys()
        elif validator.is_type(value, "object"):
            keys += [name for name in value if name in instance]
    return keys


def _extras_msg(extras: list) -> tuple[str, str]:
    return ", ".join(repr(extra) for extra in extras), "was" if len(extras) == 1 else "were"
