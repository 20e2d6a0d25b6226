"""Which argument names a tool's parameters schema declares (``tool_call@2`` refuses the others).

A name is declared when the parameters schema lists it under ``properties`` or ``required``,
in the schema itself or in a subschema it combines (``allOf``, ``anyOf``, ``oneOf``, ``if``,
``then``, ``else``, ``dependentSchemas``, a local ``$ref`` such as ``#/$defs/base``), or when
it matches a ``patternProperties`` pattern. A schema that sets ``additionalProperties`` or
``unevaluatedProperties`` to anything but ``false`` explicitly allows other names: their values
are then left to the schema's own validation. Only top-level arguments are concerned; a nested
object follows its schema as written. A ``$ref`` to another document is not followed (nothing is
fetched): declare the arguments in the tool's own schema.

>>> schema = {"type": "object", "properties": {"city": {}}}
>>> undeclared_arguments({"city": "Oslo", "units": "C"}, schema)
['units']
>>> undeclared_arguments({"units": "C"}, {"type": "object", "additionalProperties": True})
[]
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from verifiers.errors import BadReferenceError
from verifiers.hashing import canonical_json

_LISTS = ("allOf", "anyOf", "oneOf")
_SINGLES = ("if", "then", "else")


@dataclass(frozen=True)
class DeclaredArguments:
    """The argument names one tool schema declares, its name patterns, and whether it allows
    others."""

    names: frozenset[str]
    patterns: tuple[str, ...] = ()
    open: bool = False
    """``additionalProperties`` / ``unevaluatedProperties`` set to something other than
    ``false``."""

    def allows(self, name: str) -> bool:
        return self.open or name in self.names or any(re.search(p, name) for p in self.patterns)

    def describe(self) -> str:
        """The declared names (and name patterns) for a message: ``"a, b; names matching ^x-"``."""
        text = ", ".join(sorted(self.names)) or "none"
        return f"{text}; names matching {', '.join(self.patterns)}" if self.patterns else text

    def undeclared(self, names: Iterable[str]) -> list[str]:
        """The names in ``names`` (kept in order) that this schema does not declare."""
        return [name for name in names if not self.allows(name)]


def declared_arguments(schema: Mapping[str, Any]) -> DeclaredArguments:
    """What ``schema`` (a tool's ``parameters``) declares; cached by the schema's canonical JSON."""
    return _declared(canonical_json(schema))


def undeclared_arguments(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The keys of ``arguments`` that ``schema`` neither declares nor explicitly allows."""
    return declared_arguments(schema).undeclared(arguments)


@functools.lru_cache(maxsize=512)
def _declared(schema_json: str) -> DeclaredArguments:
    root = json.loads(schema_json)
    names: set[str] = set()
    patterns: list[str] = []
    allows_more = False
    for node in _combined(root):
        if isinstance(node.get("properties"), Mapping):
            names.update(node["properties"])
        if isinstance(node.get("required"), list):
            names.update(item for item in node["required"] if isinstance(item, str))
        if isinstance(node.get("patternProperties"), Mapping):
            patterns.extend(node["patternProperties"])
        allows_more |= any(
            key in node and node[key] is not False
            for key in ("additionalProperties", "unevaluatedProperties")
        )
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise BadReferenceError(
                f"patternProperties pattern {pattern!r} is not a valid regex: {exc}"
            ) from None
    return DeclaredArguments(frozenset(names), tuple(patterns), allows_more)


def _combined(root: Any) -> list[Mapping[str, Any]]:
    """``root`` and every subschema it combines at the same instance level (each once)."""
    found: list[Mapping[str, Any]] = []
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        stack.extend(sub for key in _LISTS if isinstance(node.get(key), list) for sub in node[key])
        stack.extend(node.get(key) for key in _SINGLES)
        if isinstance(node.get("dependentSchemas"), Mapping):
            stack.extend(node["dependentSchemas"].values())
        if isinstance(node.get("$ref"), str):
            stack.append(_local(root, node["$ref"]))
    return found


def _local(root: Any, ref: str) -> Any:
    """The subschema a local JSON-pointer ``$ref`` (``#/...``) points to, else ``None``."""
    if not ref.startswith("#/"):
        return None
    node = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
