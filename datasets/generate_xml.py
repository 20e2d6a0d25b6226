"""Generate the bundled XML set: write an XML document valid against an XSD, with the right values.

The prompt gives facts in prose and the XSD. The reference for ``xml_schema@1`` is the XSD plus
XPath assertions (``string(...)`` equals the expected text) pinning every value; ``solution`` is
the document.

    python datasets/generate_xml.py [--seed 0] [--count 200] [--out datasets/xml]
"""

from __future__ import annotations

import random
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

from envs.bundled import generator_main

VERSION = 1
AUTHORS = [
    "Ada Okafor",
    "Bruno Lindqvist",
    "Chiara Moreau",
    "Hiro Tanaka",
    "Ines Silva",
    "Kemi Novak",
]
WORDS = [
    "Silent",
    "River",
    "Glass",
    "Northern",
    "Garden",
    "Paper",
    "Winter",
    "Orchard",
    "Signal",
    "Harbour",
]
CITIES = ["Lisbon", "Osaka", "Nairobi", "Montréal", "Kraków", "Tromsø", "Hanoi", "Zürich"]
GOODS = ["bolts", "cables", "lenses", "valves", "sensors", "gaskets"]

XS = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'

BOOK_XSD = f"""<xs:schema {XS}>
  <xs:element name="book">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="title" type="xs:string"/>
        <xs:element name="author" type="xs:string"/>
        <xs:element name="year" type="xs:gYear"/>
        <xs:element name="pages" type="xs:positiveInteger"/>
      </xs:sequence>
      <xs:attribute name="lang" type="xs:language" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>"""

SHIPMENT_XSD = f"""<xs:schema {XS}>
  <xs:element name="shipment">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="destination" type="xs:string"/>
        <xs:element name="item" maxOccurs="unbounded">
          <xs:complexType>
            <xs:simpleContent>
              <xs:extension base="xs:string">
                <xs:attribute name="qty" type="xs:positiveInteger" use="required"/>
              </xs:extension>
            </xs:simpleContent>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="id" type="xs:string" use="required"/>
      <xs:attribute name="express" type="xs:boolean" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>"""

CONTACT_XSD = f"""<xs:schema {XS}>
  <xs:element name="contact">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="name" type="xs:string"/>
        <xs:element name="phone">
          <xs:simpleType>
            <xs:restriction base="xs:string"><xs:pattern value="\\+[0-9]{{6,14}}"/></xs:restriction>
          </xs:simpleType>
        </xs:element>
        <xs:element name="city" type="xs:string"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>"""


def assertion(expr: str, value: str) -> dict[str, str]:
    return {"expr": f"string({expr})", "equals": value}


def book(rng: random.Random) -> tuple[str, str, str, list]:
    title = f"The {rng.choice(WORDS)} {rng.choice(WORDS)}"
    author, year, pages = rng.choice(AUTHORS), rng.randint(1950, 2025), rng.randint(80, 900)
    lang = rng.choice(["en", "fr", "pt", "ja"])
    facts = (
        f'"{title}" by {author}, published in {year}, {pages} pages, '
        f'written in language code "{lang}".'
    )
    doc = (
        f"<book lang={quoteattr(lang)}><title>{escape(title)}</title>"
        f"<author>{escape(author)}</author>"
        f"<year>{year}</year><pages>{pages}</pages></book>"
    )
    checks = [
        assertion("/book/@lang", lang),
        assertion("/book/title", title),
        assertion("/book/author", author),
        assertion("/book/year", str(year)),
        assertion("/book/pages", str(pages)),
    ]
    return facts, BOOK_XSD, doc, checks


def shipment(rng: random.Random) -> tuple[str, str, str, list]:
    ident, city, express = f"SH-{rng.randint(1000, 9999)}", rng.choice(CITIES), rng.random() < 0.5
    items = [(good, rng.randint(1, 50)) for good in rng.sample(GOODS, rng.randint(1, 3))]
    listed = ", then ".join(f"{qty} {good}" for good, qty in items)
    facts = (
        f"Shipment {ident} goes to {city} "
        f"{'by express' if express else 'by standard post (not express)'}. It holds, in this "
        f"order: {listed}. Use one item element per good, with the count in qty."
    )
    body = "".join(f'<item qty="{qty}">{good}</item>' for good, qty in items)
    doc = (
        f'<shipment id="{ident}" '
        f'express="{str(express).lower()}"><destination>{escape(city)}</destination>'
        f"{body}</shipment>"
    )
    checks = [
        assertion("/shipment/@id", ident),
        assertion("/shipment/@express", str(express).lower()),
        assertion("/shipment/destination", city),
        {"expr": "count(/shipment/item)", "equals": len(items)},
    ]
    checks += [assertion(f"/shipment/item[{i + 1}]", good) for i, (good, _) in enumerate(items)]
    checks += [
        assertion(f"/shipment/item[{i + 1}]/@qty", str(qty)) for i, (_, qty) in enumerate(items)
    ]
    return facts, SHIPMENT_XSD, doc, checks


def contact(rng: random.Random) -> tuple[str, str, str, list]:
    name, city = rng.choice(AUTHORS), rng.choice(CITIES)
    phone = "+" + "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(8, 12)))
    facts = (
        f"{name} lives in {city}; phone number {phone} (international format, digits only after +)."
    )
    doc = (
        f"<contact><name>{escape(name)}</name><phone>{phone}</phone>"
        f"<city>{escape(city)}</city></contact>"
    )
    checks = [
        assertion("/contact/name", name),
        assertion("/contact/phone", phone),
        assertion("/contact/city", city),
    ]
    return facts, CONTACT_XSD, doc, checks


TEMPLATES: dict[str, Callable[[random.Random], tuple[str, str, str, list]]] = {
    "book": book,
    "contact": contact,
    "shipment": shipment,
}


def generate(seed: int, count: int) -> list[dict]:
    """``count`` rows, deterministic in ``seed``."""
    rng = random.Random(seed)
    names = sorted(TEMPLATES)
    rows = []
    for index in range(count):
        template = names[index % len(names)]
        facts, xsd, doc, checks = TEMPLATES[template](rng)
        prompt = (
            "Write one XML document, valid against the XSD below, that records these facts:\n"
            f"{facts}\n\nXSD:\n{xsd}\n\nReply with the XML only."
        )
        rows.append(
            {
                "id": f"xml-{index:04d}",
                "prompt": prompt,
                "reference": {"xsd": xsd, "xpath": checks},
                "solution": '<?xml version="1.0" encoding="UTF-8"?>\n' + doc,
                "meta": {"template": template},
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    return generator_main(
        generate,
        name="xml",
        filename="xml_tasks.jsonl",
        count=200,
        version=VERSION,
        doc=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
