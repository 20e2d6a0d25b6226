"""``xml_schema@1``: is the XML in a response valid against an XSD, RELAX NG or DTD schema?

>>> import verifiers
>>> v = verifiers.get("xml_schema@1")
>>> dtd = "<!ELEMENT a (b)> <!ELEMENT b (#PCDATA)>"
>>> xpath = [{"expr": "string(/a/b)", "equals": "1"}]
>>> v.verify("<a><b>1</b></a>", {"dtd": dtd, "xpath": xpath}).status.value
'pass'
"""

from .verifier import XmlSchemaConfig, XmlSchemaVerifier

__all__ = ["XmlSchemaConfig", "XmlSchemaVerifier"]
