"""Documents a reference carries for its ``$ref``\\ s, resolved locally and never fetched.

A reference names them under ``"resources"``: ``{absolute URI: schema}``. They go into a
:class:`referencing.Registry` next to the bundled metaschemas; a ``$ref`` to any other document
fails with :class:`NotInResources` as the cause, so the verdict can name the missing URI.

>>> read_resources({"http://example.com/a.json#": {"type": "string"}})
{'http://example.com/a.json': {'type': 'string'}}
>>> try:
...     read_resources({"a.json": {}})
... except BadReferenceError as exc:
...     print(exc)
"resources" key 'a.json' is not an absolute URI: name each document by the URI its $refs use, ...
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

import referencing
import referencing.jsonschema
from jsonschema.validators import SPECIFICATIONS
from referencing.exceptions import Unretrievable

from ..errors import BadReferenceError

_EXAMPLE = '{"resources": {"http://example.com/a.json": {"type": "string"}}}'


class NotInResources(LookupError):
    """A ``$ref`` names a document that neither the schema nor ``resources`` holds."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.uri = uri


def read_resources(value: Any) -> dict[str, Any]:
    """``value`` checked as ``{absolute URI: schema}``, keys without an empty trailing ``#``."""
    if not isinstance(value, Mapping):
        raise BadReferenceError(
            '"resources" must be a JSON object mapping absolute URIs to schemas, '
            f"e.g. {_EXAMPLE}; got {type(value).__name__}"
        )
    resources = {}
    for uri, document in value.items():
        if not isinstance(uri, str) or not urlsplit(uri).scheme:
            raise BadReferenceError(
                f'"resources" key {uri!r} is not an absolute URI: name each document '
                f"by the URI its $refs use, with a scheme, e.g. {_EXAMPLE}"
            )
        if urlsplit(uri).fragment:
            raise BadReferenceError(
                f'"resources" key {uri!r} has a fragment: key the whole document '
                f"({uri.split('#')[0]!r}) and point into it from the $ref"
            )
        if not isinstance(document, (dict, bool)):
            raise BadReferenceError(
                f'"resources"[{uri!r}] must be a schema (a JSON object or boolean), '
                f"got {type(document).__name__}; e.g. {_EXAMPLE}"
            )
        resources[uri.rstrip("#")] = document
    return resources


def registry(resources: Mapping[str, Any], default_specification: Any) -> referencing.Registry:
    """The bundled metaschemas plus ``resources``; a document without ``$schema`` is read as
    ``default_specification``. Anything else raises :class:`NotInResources` when looked up."""
    pairs = [
        (
            uri,
            referencing.Resource.from_contents(
                document, default_specification=default_specification
            ),
        )
        for uri, document in resources.items()
    ]
    return _base_registry().with_resources(pairs).crawl()


def missing_uri(exc: BaseException) -> str | None:
    """The absolute URI of the document a failed ``$ref`` needed, if that was the failure."""
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 10:
        if isinstance(cause, Unretrievable) and isinstance(cause.__cause__, NotInResources):
            return cause.__cause__.uri
        cause, seen = cause.__cause__, seen + 1
    return None


def _refuse(uri: str) -> referencing.Resource:
    raise NotInResources(uri)


_BASE: list[referencing.Registry] = []


def _base_registry() -> referencing.Registry:
    if not _BASE:
        _BASE.append(referencing.Registry(retrieve=_refuse).combine(SPECIFICATIONS).crawl())
    return _BASE[0]
