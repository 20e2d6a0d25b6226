"""Tagged-JSON encoding of plain Python values: how values cross the sandbox boundary.

Only values built from the *exact* builtin types below are encoded; anything else (a subclass of
``int``, an object with a custom ``__eq__``, a generator) is refused, so a candidate program can
never smuggle an object whose comparison it controls. Never ``pickle``: decoding runs in the
trusted grader and must not execute anything.

=============  ===================================
``None``       ``null``
``bool``       ``true`` / ``false``
``int``        number, or ``{"$int": "hex digits"}`` beyond 2**53
``float``      number, or ``{"$float": "nan"|"inf"|"-inf"}``
``str``        string
``list``       array
``tuple``      ``{"$tuple": [...]}``
``dict``       ``{"$dict": [[key, value], ...]}``
``set``        ``{"$set": [...]}``; ``frozenset`` -> ``{"$frozenset": [...]}``
``bytes``      ``{"$bytes": "hex"}``
``complex``    ``{"$complex": [re, im]}``
=============  ===================================

>>> decode(encode((1, 2.5, {"a": [None, True]})))
(1, 2.5, {'a': [None, True]})

This file is also sent into the sandbox as part of the runner, so it uses only the standard
library and works on Python >= 3.8.
"""

import math

MAX_DEPTH = 64
MAX_ITEMS = 100000
MAX_INT_HEX = 100000
"""Largest integer accepted, in hex digits (hex is not bound by ``sys.set_int_max_str_digits``)."""


class WireError(ValueError):
    """A value that cannot (or must not) cross the boundary."""


def encode(value, depth=0, budget=None):
    """Plain value -> JSON-able structure; raises :class:`WireError` for anything else."""
    if budget is None:
        budget = [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0:
        raise WireError("value is too large to return (more than %d items)" % MAX_ITEMS)
    if depth > MAX_DEPTH:
        raise WireError("value nests deeper than %d levels" % MAX_DEPTH)
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -(2**53) < value < 2**53 else {"$int": hex(value)}
    if kind is float:
        if math.isfinite(value):
            return value
        return {"$float": "nan" if value != value else ("inf" if value > 0 else "-inf")}
    if kind is list:
        return [encode(v, depth + 1, budget) for v in value]
    if kind is tuple:
        return {"$tuple": [encode(v, depth + 1, budget) for v in value]}
    if kind is dict:
        return {
            "$dict": [
                [encode(k, depth + 1, budget), encode(v, depth + 1, budget)]
                for k, v in value.items()
            ]
        }
    if kind is set or kind is frozenset:
        items = [encode(v, depth + 1, budget) for v in value]
        return {"$set" if kind is set else "$frozenset": items}
    if kind is bytes:
        return {"$bytes": value.hex()}
    if kind is complex:
        return {
            "$complex": [
                encode(value.real, depth + 1, budget),
                encode(value.imag, depth + 1, budget),
            ]
        }
    raise WireError(
        "returned an object of type %s; only plain builtin values (int, float, str, list, "
        "tuple, dict, set, bytes, None...) can be compared" % _type_name(value)
    )


def decode(data, depth=0):
    """Inverse of :func:`encode`; raises :class:`WireError` on anything malformed."""
    if depth > MAX_DEPTH + 2:
        raise WireError("encoded value nests too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v, depth + 1) for v in data]
    if type(data) is not dict or len(data) != 1:
        raise WireError("malformed encoded value")
    tag, body = next(iter(data.items()))
    return _decode_tagged(tag, body, depth)


def _decode_tagged(tag, body, depth):
    try:
        return _decode_scalar(tag, body)
    except _NotScalar:
        return _decode_container(tag, body, depth)
    except WireError:
        raise
    except ValueError:
        raise WireError("malformed %s value" % tag)


def _decode_scalar(tag, body):
    if tag == "$int" and type(body) is str and len(body) <= MAX_INT_HEX:
        return int(body, 16)
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$bytes" and type(body) is str:
        return bytes.fromhex(body)
    raise _NotScalar()


class _NotScalar(ValueError):
    pass


def _decode_container(tag, body, depth):
    if type(body) is not list:
        raise WireError("malformed encoded value with tag %r" % tag)
    items = [decode(v, depth + 1) for v in body] if tag != "$dict" else None
    if tag == "$tuple":
        return tuple(items)
    if tag == "$set":
        return set(items)
    if tag == "$frozenset":
        return frozenset(items)
    if tag == "$complex" and len(items) == 2:
        return complex(items[0], items[1])
    if tag == "$dict":
        pairs = [decode(pair, depth + 1) for pair in body]
        if not all(type(p) is list and len(p) == 2 for p in pairs):
            raise WireError("malformed encoded dict")
        return {k: v for k, v in pairs}
    raise WireError("unknown tag %r in encoded value" % tag)


def _type_name(value):
    kind = type(value)
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", "?")
    return (
        name
        if module in ("builtins", "__main__", "solution", None, "")
        else "%s.%s" % (module, name)
    )
