"""Generate the bundled JSON extraction set: a short text with facts plus a JSON Schema.

The prompt shows the text and the *public* schema (types and required fields). The reference
for ``json_schema@1`` is the same schema with every extracted value pinned by ``const``, so a
response passes only with the right structure *and* the right values. ``solution`` is the JSON.

    python datasets/generate_json.py [--seed 0] [--count 200] [--out datasets/json]
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any, Callable

from envs.bundled import generator_main

VERSION = 1
FIRST = [
    "Ada",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Esra",
    "Felix",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Luca",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Silva",
    "Novak",
    "Haddad",
    "Kowalski",
    "Reyes",
    "Weber",
]
CITIES = [
    "Lisbon",
    "Osaka",
    "Nairobi",
    "Montréal",
    "Kraków",
    "Valparaíso",
    "Tromsø",
    "Hanoi",
    "Zürich",
]
PRODUCTS = ["desk lamp", "kettle", "backpack", "headphones", "yoga mat", "chess set", "rain jacket"]
TAGS = ["eco", "sale", "new", "gift", "outdoor", "kitchen", "office"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def pin(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """``schema`` with ``value`` pinned: ``const`` on scalars, recursively on objects and arrays."""
    schema = copy.deepcopy(schema)
    if schema.get("type") == "object":
        schema["properties"] = {k: pin(s, value[k]) for k, s in schema["properties"].items()}
    elif schema.get("type") == "array":
        schema["prefixItems"] = [pin(schema["items"], item) for item in value]
        schema["minItems"] = schema["maxItems"] = len(value)
    else:
        schema["const"] = value
    return schema


def person(rng: random.Random) -> tuple[str, dict, dict]:
    first, last, city = rng.choice(FIRST), rng.choice(LAST), rng.choice(CITIES)
    age = rng.randint(19, 80)
    email = f"{first.lower()}.{last.lower()}@example.org"
    text = (
        f"{first} {last} moved to {city} last spring. Now {age}, {first} can be reached at {email} "
        "for questions about the community garden."
    )
    schema = obj(
        {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "city": {"type": "string"},
            "email": {"type": "string"},
        }
    )
    return text, schema, {"name": f"{first} {last}", "age": age, "city": city, "email": email}


def order(rng: random.Random) -> tuple[str, dict, dict]:
    number = rng.randint(10000, 99999)
    chosen = rng.sample(PRODUCTS, rng.randint(1, 3))
    items = [
        {"product": p, "quantity": rng.randint(1, 4), "unit_price_cents": rng.randint(5, 200) * 100}
        for p in chosen
    ]
    described = "; ".join(
        f"{i['quantity']} × {i['product']} at {i['unit_price_cents'] // 100} dollars each"
        for i in items
    )
    text = f"Order #{number} was placed by {rng.choice(FIRST)} and contains: {described}."
    item_schema = obj(
        {
            "product": {"type": "string"},
            "quantity": {"type": "integer"},
            "unit_price_cents": {"type": "integer"},
        }
    )
    schema = obj(
        {"order_id": {"type": "integer"}, "items": {"type": "array", "items": item_schema}}
    )
    return text, schema, {"order_id": number, "items": items}


def event(rng: random.Random) -> tuple[str, dict, dict]:
    month, day, year = rng.randint(1, 12), rng.randint(1, 28), rng.choice([2025, 2026, 2027])
    guests = sorted(rng.sample(FIRST, rng.randint(2, 4)))
    title = (
        f"{rng.choice(['Quarterly', 'Annual', 'Spring', 'Team'])} "
        f"{rng.choice(['review', 'retreat', 'dinner'])}"
    )
    text = (
        f"The {title.lower()} takes place on {MONTHS[month - 1]} {day}, {year} in "
        f"{rng.choice(CITIES)}. Confirmed guests, in alphabetical order: {', '.join(guests)}."
    )
    schema = obj(
        {
            "title": {"type": "string"},
            "date": {"type": "string", "description": "YYYY-MM-DD"},
            "guests": {"type": "array", "items": {"type": "string"}},
        }
    )
    value = {"title": title, "date": f"{year}-{month:02d}-{day:02d}", "guests": guests}
    return text.replace(title.lower(), f'"{title}"'), schema, value


def product(rng: random.Random) -> tuple[str, dict, dict]:
    name, price, stock = rng.choice(PRODUCTS), rng.randint(199, 19999), rng.random() < 0.5
    tags = sorted(rng.sample(TAGS, 2))
    availability = "is in stock" if stock else "is currently sold out"
    text = (
        f"Our {name} costs {price / 100:.2f} dollars and {availability}. "
        f"It is listed under the tags {tags[0]} and {tags[1]}."
    )
    schema = obj(
        {
            "name": {"type": "string"},
            "price_cents": {"type": "integer"},
            "in_stock": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        }
    )
    return text, schema, {"name": name, "price_cents": price, "in_stock": stock, "tags": tags}


TEMPLATES: dict[str, Callable[[random.Random], tuple[str, dict, dict]]] = {
    "event": event,
    "order": order,
    "person": person,
    "product": product,
}
HINTS = {
    "event": "",
    "order": " Prices are in cents.",
    "person": "",
    "product": " Prices are in cents; tags in alphabetical order.",
}


def generate(seed: int, count: int) -> list[dict]:
    """``count`` rows, deterministic in ``seed``."""
    rng = random.Random(seed)
    names = sorted(TEMPLATES)
    rows = []
    for index in range(count):
        template = names[index % len(names)]
        text, schema, value = TEMPLATES[template](rng)
        prompt = (
            "Extract the facts from the text below as one JSON object matching this JSON Schema."
            f"{HINTS[template]}\n\nSchema:\n{json.dumps(schema, ensure_ascii=False)}\n\nText:\n"
            f"{text}"
        )
        rows.append(
            {
                "id": f"json-{index:04d}",
                "prompt": prompt,
                "reference": {"schema": pin(schema, value)},
                "solution": json.dumps(value, ensure_ascii=False),
                "meta": {"template": template},
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    return generator_main(
        generate,
        name="json",
        filename="json_tasks.jsonl",
        count=200,
        version=VERSION,
        doc=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
