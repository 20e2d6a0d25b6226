"""Safe XML parsing for untrusted documents and for schemas: nothing is fetched or read.

Every parser here is built by :func:`safe_parser`: no network, no DTD loading, no entity
resolution, libxml2's default depth and size limits (no ``huge_tree``), and a resolver that
answers every request for an outside document with an empty one. Schemas are scanned for
imports *before* libxml2 sees them, since the RELAX NG compiler loads ``include`` without asking
the resolver.

>>> doc = parse_document("<a><b>1</b></a>", max_chars=100, max_depth=8)
>>> doc.getroot().tag
'a'
>>> try:
...     parse_document('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', max_chars=100, max_depth=8)
... except Rejected as exc:
...     exc.code
'entity_forbidden'
"""

from __future__ import annotations

import io
import re
from typing import Any

from lxml import etree

XSD_NS = "http://www.w3.org/2001/XMLSchema"
RNG_NS = "http://relaxng.org/ns/structure/1.0"
#: Elements that pull other documents into a schema, with the attribute that names them.
IMPORTING = {
    f"{{{XSD_NS}}}import": "schemaLocation",
    f"{{{XSD_NS}}}include": "schemaLocation",
    f"{{{XSD_NS}}}redefine": "schemaLocation",
    f"{{{XSD_NS}}}override": "schemaLocation",
    f"{{{RNG_NS}}}include": "href",
    f"{{{RNG_NS}}}externalRef": "href",
}
_DTD_EXTERNAL = re.compile(r"\b(SYSTEM|PUBLIC)\b")


class Rejected(ValueError):
    """The document cannot be used; ``code`` says why (``unparseable`` for a response)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _RefuseAll(etree.Resolver):
    """Answers every request for an outside document (file, URL, catalog) with nothing."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


def safe_parser() -> etree.XMLParser:
    """A parser that never touches the disk or the network and never expands entities."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        encoding="utf-8",
    )
    parser.resolvers.add(_RefuseAll())
    return parser


def parse_document(text: str, *, max_chars: int, max_depth: int) -> Any:
    """Parse untrusted ``text`` into an ``ElementTree`` or raise :class:`Rejected`.

    Codes: ``response_too_large``, ``invalid_xml``, ``too_deep``, ``entity_forbidden`` (the
    document declares entities, or tried an entity expansion bomb).
    """
    if len(text) > max_chars:
        raise Rejected(
            "response_too_large", f"{len(text)} characters is more than the limit of {max_chars}"
        )
    try:
        root = etree.fromstring(text.encode("utf-8", errors="surrogatepass"), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_rejection(exc, max_depth) from None
    except UnicodeEncodeError as exc:
        raise Rejected("invalid_xml", f"not encodable text: {exc.reason}") from None
    tree = root.getroottree()
    declared = _declared_entities(tree)
    if declared:
        raise Rejected(
            "entity_forbidden",
            f"the document declares entities ({', '.join(declared[:5])}); "
            "entity declarations are refused so nothing is expanded or fetched",
        )
    depth = element_depth(root)
    if depth > max_depth:
        raise Rejected("too_deep", f"elements nest {depth} levels deep; the limit is {max_depth}")
    return tree


def _syntax_rejection(exc: etree.XMLSyntaxError, max_depth: int) -> Rejected:
    message = str(exc)
    if "Excessive depth" in message:
        return Rejected("too_deep", f"elements nest deeper than the limit of {max_depth}")
    if "amplification" in message or "entity reference loop" in message:
        return Rejected("entity_forbidden", f"entity expansion refused: {message[:200]}")
    return Rejected("invalid_xml", f"not well-formed XML: {message[:200]}")


def _declared_entities(tree: Any) -> list[str]:
    dtd = tree.docinfo.internalDTD
    if dtd is None:
        return []
    return [entity.name for entity in dtd.iterentities()]


def element_depth(root: Any) -> int:
    """Element nesting depth without recursion (a lone root is 1)."""
    depth = deepest = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_schema_document(text: str, kind: str) -> Any:
    """Parse an XSD or RELAX NG schema text safely; refuse it if it imports anything."""
    try:
        root = etree.fromstring(text.encode("utf-8", errors="surrogatepass"), safe_parser())
    except etree.XMLSyntaxError as exc:
        hint = ""
        if kind == "relaxng" and not text.lstrip().startswith("<"):
            hint = (
                " (RELAX NG compact syntax is not supported: give the XML syntax, "
                "e.g. converted with trang)"
            )
        raise Rejected(
            "bad_schema", f"the {kind} is not well-formed XML{hint}: {str(exc)[:200]}"
        ) from None
    if _declared_entities(root.getroottree()):
        raise Rejected(
            "schema_import_blocked",
            f"the {kind} declares entities; they are refused so nothing is fetched",
        )
    for element in root.iter(*IMPORTING):
        location = element.get(IMPORTING[element.tag])
        if location is not None:
            local = etree.QName(element).localname
            raise Rejected(
                "schema_import_blocked",
                f"the {kind} tries to {local} {location[:200]!r}; "
                "imports and includes are never fetched: inline the schema instead",
            )
    return root


def check_dtd_text(text: str) -> Any:
    """An ``etree.DTD`` from reference text; external identifiers are refused before parsing."""
    found = _DTD_EXTERNAL.search(text)
    if found:
        raise Rejected(
            "schema_import_blocked",
            f"the DTD uses an external identifier ({found.group(1)}); "
            "nothing outside the reference is loaded: inline the declarations instead",
        )
    try:
        return etree.DTD(io.StringIO(text))
    except etree.DTDParseError as exc:
        raise Rejected("bad_schema", f"the DTD does not parse: {str(exc)[:200]}") from None
