"""Tagged-JSON values for ``code@2``: what crosses between the candidate and the test process.

Never ``pickle``: decoding runs in the trusted test process and must not execute anything. Only
exact types cross as values; decoding builds **real** objects of those types, so every ``==``
in a test is Python's own. Anything else becomes a *handle* (``{"$h": [id, type name]}``), an
opaque reference the other side resolves through a hook (a remote proxy in the test process, the
object itself in the candidate process).

==================================  ==============================================================
``None`` ``bool`` ``str`` ``list``  themselves
``int``                             number, or ``{"$int": "hex"}`` beyond 2**53
``float``                           number, or ``{"$float": "nan"|"inf"|"-inf"}``
``tuple`` ``set`` ``frozenset``     ``{"$tuple": [...]}`` ...;
                                    ``dict`` -> ``{"$dict": [[k, v], ...]}``
``bytes`` ``bytearray`` ``complex`` ``{"$bytes": "hex"}``, ``{"$bytearray": "hex"}``,
                                    ``{"$complex": [re, im]}``
``range`` and dict views            ``{"$range": [start, stop, step]}``,
                                    ``{"$keys"|"$values"|"$items": [...]}``
``collections``                     ``$counter``, ``$ordereddict`` (pairs), ``$defaultdict``
                                    ([factory, pairs]), ``$deque`` ([items, maxlen]);
                                    namedtuples ``$namedtuple`` ([name, fields, values])
``decimal`` ``fractions``           ``{"$decimal": "1.10"}``, ``{"$fraction": [num, den]}``
``datetime``                        ``$date``, ``$time``, ``$datetime``, ``$timedelta``
                                    (fields; fixed-offset tz only)
``re.Match``                        ``$match`` -> :class:`MatchRecord`
                                    (truthy; ``group``/``groups``/``span``...)
pure standard-library callables     ``{"$std": [module, qualname]}``
                                    (only from :data:`PURE_MODULES` / :data:`PURE_BUILTINS`)
the tests' iterators                ``{"$iter": [...]}``: consumed by the test process,
                                    an iterator again for the candidate
==================================  ==============================================================

>>> decode(encode((1, 2.5, {"a": [None, True]})))
(1, 2.5, {'a': [None, True]})

This file is sent into the sandbox (standard library only, Python >= 3.8).
"""

import builtins
import math
import sys

try:
    import _json
except ImportError:  # another Python implementation: the json package below
    _json = None

MAX_DEPTH = 64
MAX_ITEMS = 2000000
MAX_INT_HEX = 100000
"""Largest integer accepted, in hex digits (hex is not bound by ``sys.set_int_max_str_digits``)."""
MAX_TEXT = 100000
"""Longest decimal string / name accepted by the decoder."""
PURE_MODULES = frozenset(
    (
        "math",
        "cmath",
        "re",
        "string",
        "collections",
        "collections.abc",
        "itertools",
        "functools",
        "operator",
        "heapq",
        "bisect",
        "fractions",
        "decimal",
        "statistics",
        "datetime",
        "random",
        "copy",
        "json",
        "textwrap",
        "unicodedata",
        "array",
        "numbers",
        "calendar",
        "difflib",
        "struct",
        "binascii",
        "keyword",
        "colorsys",
        "fnmatch",
        "base64",
        "hashlib",
    )
)
"""Standard-library modules whose functions the test process may run itself on the candidate's data:
no code execution, no files, processes or interpreter state."""
PURE_BUILTINS = frozenset(
    (
        "abs",
        "all",
        "any",
        "ascii",
        "bin",
        "bool",
        "bytearray",
        "bytes",
        "callable",
        "chr",
        "complex",
        "dict",
        "divmod",
        "enumerate",
        "filter",
        "float",
        "format",
        "frozenset",
        "hash",
        "hex",
        "int",
        "isinstance",
        "issubclass",
        "iter",
        "len",
        "list",
        "map",
        "max",
        "min",
        "next",
        "object",
        "oct",
        "ord",
        "pow",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "slice",
        "sorted",
        "str",
        "sum",
        "tuple",
        "type",
        "zip",
    )
)
"""Builtins the test process may bind for a candidate's name (never eval, exec, open,
getattr, ...)."""
DEFAULT_FACTORIES = ("int", "float", "str", "list", "dict", "set", "tuple", "bool", "frozenset")


class WireError(ValueError):
    """A value that cannot (or must not) cross the boundary."""


# ---------------------------------------------------------------- JSON text
# The json package imports re (~5 ms at every sandbox start); its C accelerator alone does the same
# work.
class _ScanContext(object):
    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int
    parse_constant = {
        "NaN": float("nan"),
        "Infinity": float("inf"),
        "-Infinity": float("-inf"),
    }.__getitem__
    memo = {}


def _not_json(value):
    raise TypeError("%s is not JSON serializable" % type(value).__name__)


if _json is not None:
    _SCAN = _json.make_scanner(_ScanContext())
    _DUMPERS = [
        _json.make_encoder(
            None, _not_json, _json.encode_basestring_ascii, None, ":", ",", order, False, True
        )
        for order in (False, True)
    ]

    def dumps(value, sort_keys=False):
        """``json.dumps(value, separators=(",", ":"), sort_keys=sort_keys)``."""
        return "".join(_DUMPERS[bool(sort_keys)](value, 0))

    def loads(text):
        """``json.loads(text)``; ValueError on malformed text."""
        text = text.strip(" \t\n\r")
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:
            raise ValueError("malformed JSON")
        if end != len(text):
            raise ValueError("extra data after JSON")
        return value
else:
    import json

    def dumps(value, sort_keys=False):
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"))

    def loads(text):
        return json.loads(text)


class MatchRecord(object):
    """What a candidate's ``re.Match`` becomes in the test process: its groups and spans, as data.

    Truthy like a match; ``group()``, ``groups()``, ``groupdict()``, ``span()``, ``start()``,
    ``end()``, ``m[i]``, ``string``, ``lastindex``, ``lastgroup`` behave as on ``re.Match``.
    """

    __slots__ = ("_groups", "_spans", "_names", "string", "lastindex", "lastgroup")

    def __init__(self, groups, spans, names, string, lastindex, lastgroup):
        self._groups, self._spans, self._names = groups, spans, names
        self.string, self.lastindex, self.lastgroup = string, lastindex, lastgroup

    def _index(self, group):
        index = self._names.get(group, group) if isinstance(group, str) else group
        if type(index) is not int or not 0 <= index < len(self._groups):
            raise IndexError("no such group")
        return index

    def group(self, *groups):
        if len(groups) > 1:
            return tuple(self._groups[self._index(g)] for g in groups)
        return self._groups[self._index(groups[0] if groups else 0)]

    __getitem__ = group

    def groups(self, default=None):
        return tuple(default if g is None else g for g in self._groups[1:])

    def groupdict(self, default=None):
        return {
            name: default if self._groups[i] is None else self._groups[i]
            for name, i in self._names.items()
        }

    def span(self, group=0):
        return tuple(self._spans[self._index(group)])

    def start(self, group=0):
        return self._spans[self._index(group)][0]

    def end(self, group=0):
        return self._spans[self._index(group)][1]

    def __bool__(self):
        return True

    def __repr__(self):
        return "<re.Match object; span=%r, match=%r>" % (self.span(), self._groups[0])


# ---------------------------------------------------------------- encoding
class Encoder(object):
    """Encode one value; ``handle_of(obj)`` is called for anything that is not a plain value.

    ``handle_of`` returns an id string (the candidate registers the object; the test process
    returns a proxy's id, or raises :class:`WireError` for objects it must not send).
    """

    def __init__(self, handle_of):
        self.handle_of = handle_of
        self.budget = MAX_ITEMS

    def encode(self, value, depth=0):
        self.budget -= 1
        if self.budget < 0:
            raise WireError("value is too large to send (more than %d items)" % MAX_ITEMS)
        if depth > MAX_DEPTH:
            raise WireError("value nests deeper than %d levels" % MAX_DEPTH)
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if -(2**53) < value < 2**53 else self._big_int(value)
        if kind is float:
            return (
                value
                if math.isfinite(value)
                else {"$float": "nan" if value != value else ("inf" if value > 0 else "-inf")}
            )
        method = _ENCODERS.get(kind) or _lazy_encoder(kind)
        if method is not None:
            return method(self, value, depth + 1)
        return self._handle(value)

    def _big_int(self, value):
        text = hex(value)
        if len(text) > MAX_INT_HEX:
            return self._handle(value)
        return {"$int": text}

    def _handle(self, value):
        ident = self.handle_of(value)
        # the hook encoded the value itself (the test process: an iterator's items)
        if type(ident) is dict:
            return ident
        try:
            name = type(value).__qualname__
        except BaseException:
            name = "object"
        return {"$h": [ident, str(name)[:100]]}

    def items(self, values, depth):
        return [self.encode(v, depth) for v in values]

    def pairs(self, mapping, depth):
        return [[self.encode(k, depth), self.encode(v, depth)] for k, v in mapping.items()]


def encode(value, handle_of=None):
    """Encode ``value``; without ``handle_of`` anything that is not a plain value raises
    :class:`WireError`."""
    return Encoder(handle_of or _refuse).encode(value)


def _refuse(value):
    raise WireError(
        "an object of type %s cannot be sent; only plain values (int, float, str, list, tuple, "
        "dict, set, bytes, None, standard-library data types) can" % _type_name(value)
    )


def _type_name(value):
    kind = type(value)
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", "?")
    return (
        name
        if module in ("builtins", "__main__", "solution", None, "")
        else "%s.%s" % (module, name)
    )


def _tagged(tag, body_of):
    return lambda encoder, value, depth: {tag: body_of(encoder, value, depth)}


_ENCODERS = {
    list: lambda e, v, d: e.items(v, d),
    tuple: _tagged("$tuple", lambda e, v, d: e.items(v, d)),
    dict: _tagged("$dict", lambda e, v, d: e.pairs(v, d)),
    set: _tagged("$set", lambda e, v, d: e.items(v, d)),
    frozenset: _tagged("$frozenset", lambda e, v, d: e.items(v, d)),
    bytes: _tagged("$bytes", lambda e, v, d: v.hex()),
    bytearray: _tagged("$bytearray", lambda e, v, d: v.hex()),
    complex: _tagged("$complex", lambda e, v, d: [e.encode(v.real, d), e.encode(v.imag, d)]),
    range: _tagged(
        "$range", lambda e, v, d: [e.encode(v.start, d), e.encode(v.stop, d), e.encode(v.step, d)]
    ),
    type({}.keys()): _tagged("$keys", lambda e, v, d: e.items(v, d)),
    type({}.values()): _tagged("$values", lambda e, v, d: e.items(v, d)),
    type({}.items()): _tagged(
        "$items", lambda e, v, d: [[e.encode(k, d), e.encode(x, d)] for k, x in v]
    ),
}
_LAZY_MODULES = ("collections", "decimal", "fractions", "datetime", "re")
_SEEN_MODULES = set()


def _encode_record(encoder, value, depth):
    names = [[k, v] for k, v in value._names.items()]
    spans = [list(span) for span in value._spans]
    return {
        "$match": [
            encoder.items(value._groups, depth),
            spans,
            names,
            encoder.encode(value.string, depth),
            value.lastindex,
            value.lastgroup,
        ]
    }


_ENCODERS[MatchRecord] = _encode_record


def _lazy_encoder(kind):
    """Encoders of standard-library types, registered once their module has been imported."""
    for name in _LAZY_MODULES:
        if name not in _SEEN_MODULES and name in sys.modules:
            _SEEN_MODULES.add(name)
            _register_module(name, sys.modules[name])
    method = _ENCODERS.get(kind)
    if method is None and issubclass(kind, tuple) and _is_namedtuple(kind):
        return _encode_namedtuple
    if method is None and _is_pure_callable_type(kind):
        return _encode_std
    return method


def _register_module(name, module):
    table = {
        "collections": lambda m: {
            m.Counter: _tagged("$counter", lambda e, v, d: e.pairs(v, d)),
            m.OrderedDict: _tagged("$ordereddict", lambda e, v, d: e.pairs(v, d)),
            m.defaultdict: _tagged(
                "$defaultdict", lambda e, v, d: [_factory_name(v.default_factory), e.pairs(v, d)]
            ),
            m.deque: _tagged("$deque", lambda e, v, d: [e.items(v, d), v.maxlen]),
        },
        "decimal": lambda m: {m.Decimal: _tagged("$decimal", lambda e, v, d: str(v))},
        "fractions": lambda m: {
            m.Fraction: _tagged(
                "$fraction", lambda e, v, d: [e.encode(v.numerator, d), e.encode(v.denominator, d)]
            )
        },
        "datetime": _datetime_encoders,
        "re": lambda m: {type(m.match("", "")): _encode_match},
    }
    try:
        _ENCODERS.update(table[name](module))
    except Exception:  # a module patched out of shape by the candidate: its values become handles
        pass


def _datetime_encoders(m):
    def tz(value):
        offset = value.utcoffset()
        if value.tzinfo is not None and type(value.tzinfo) is not m.timezone:
            raise WireError("only fixed-offset time zones cross")
        return None if offset is None else [offset.days, offset.seconds, offset.microseconds]

    def guarded(tag, body):
        def method(encoder, value, depth):
            try:
                return {tag: body(value)}
            except WireError:
                return encoder._handle(value)

        return method

    return {
        m.date: guarded("$date", lambda v: [v.year, v.month, v.day]),
        m.time: guarded(
            "$time", lambda v: [v.hour, v.minute, v.second, v.microsecond, tz(v), v.fold]
        ),
        m.datetime: guarded(
            "$datetime",
            lambda v: [
                v.year,
                v.month,
                v.day,
                v.hour,
                v.minute,
                v.second,
                v.microsecond,
                tz(v),
                v.fold,
            ],
        ),
        m.timedelta: guarded("$timedelta", lambda v: [v.days, v.seconds, v.microseconds]),
    }


def _factory_name(factory):
    for name in DEFAULT_FACTORIES:
        if factory is getattr(builtins, name):
            return name
    return None


def _is_namedtuple(kind):
    fields = getattr(kind, "_fields", None)
    return (
        type(fields) is tuple and all(type(f) is str for f in fields) and kind.__bases__ == (tuple,)
    )


def _encode_namedtuple(encoder, value, depth):
    kind = type(value)
    return {"$namedtuple": [str(kind.__name__), list(kind._fields), encoder.items(value, depth)]}


def _encode_match(encoder, value, depth):
    count = value.re.groups
    groups = [value.group(i) for i in range(count + 1)]
    spans = [list(value.span(i)) for i in range(count + 1)]
    names = [[k, v] for k, v in value.re.groupindex.items()]
    body = [
        encoder.items(groups, depth),
        spans,
        names,
        encoder.encode(value.string, depth),
        value.lastindex,
        value.lastgroup,
    ]
    return {"$match": body}


_CALLABLE_TYPES = (type(len), type(lambda: 0), type)


def _is_pure_callable_type(kind):
    return kind in _CALLABLE_TYPES or issubclass(kind, type)


def std_name(value):
    """``[module, qualname]`` when ``value`` is a pure standard-library callable reachable by that
    name, else None."""
    try:
        module, qualname = value.__module__, value.__qualname__
        if type(module) is not str or type(qualname) is not str:
            return None
        if not (module in PURE_MODULES or (module == "builtins" and qualname in PURE_BUILTINS)):
            return None
        if resolve_std(module, qualname, import_module=False) is not value:
            return None
        return [module, qualname]
    except Exception:
        return None


def _encode_std(encoder, value, depth):
    name = std_name(value)
    return {"$std": name} if name is not None else encoder._handle(value)


def resolve_std(module, qualname, import_module=True):
    """The object ``module.qualname`` for a pure standard-library name; raises :class:`WireError`
    otherwise."""
    if type(module) is not str or type(qualname) is not str or len(qualname) > 200:
        raise WireError("malformed standard-library name")
    if not (module in PURE_MODULES or (module == "builtins" and qualname in PURE_BUILTINS)):
        raise WireError(
            "%s.%s is not a pure standard-library callable" % (module[:100], qualname[:100])
        )
    parts = qualname.split(".")
    if any(not p.isidentifier() or p.startswith("_") for p in parts):
        raise WireError("malformed standard-library name")
    if module in sys.modules:
        target = sys.modules[module]
    elif import_module:
        target = __import__(module, fromlist=["_"]) if "." in module else __import__(module)
    else:
        return None
    for part in parts:
        target = getattr(target, part)
    if not callable(target):
        raise WireError("%s.%s is not callable" % (module, qualname))
    return target


# ---------------------------------------------------------------- decoding
class Decoder(object):
    """Decode one value; ``proxy_of(id, type_name)`` resolves handles."""

    def __init__(self, proxy_of):
        self.proxy_of = proxy_of

    def decode(self, data, depth=0):
        if depth > MAX_DEPTH + 2:
            raise WireError("encoded value nests too deeply")
        kind = type(data)
        if data is None or kind is bool or kind is int or kind is float or kind is str:
            return data
        if kind is list:
            return [self.decode(v, depth + 1) for v in data]
        if kind is not dict or len(data) != 1:
            raise WireError("malformed encoded value")
        tag, body = next(iter(data.items()))
        method = _DECODERS.get(tag)
        if method is None:
            raise WireError("unknown tag %r in encoded value" % str(tag)[:40])
        try:
            return method(self, body, depth + 1)
        except WireError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, ArithmeticError) as exc:
            raise WireError("malformed %s value (%s)" % (tag, type(exc).__name__))

    def items(self, body, depth):
        if type(body) is not list:
            raise WireError("malformed encoded sequence")
        return [self.decode(v, depth) for v in body]

    def pairs(self, body, depth):
        if type(body) is not list or not all(type(p) is list and len(p) == 2 for p in body):
            raise WireError("malformed encoded mapping")
        return [(self.decode(k, depth), self.decode(v, depth)) for k, v in body]


def decode(data, proxy_of=None):
    """Inverse of :func:`encode`; raises :class:`WireError` on anything malformed."""
    return Decoder(proxy_of or _no_handles).decode(data)


def _no_handles(ident, type_name):
    raise WireError("unexpected object handle")


def _int(body, depth=0):
    if type(body) is int:
        return body
    if type(body) is str and len(body) <= MAX_INT_HEX:
        return int(body, 16)
    if type(body) is dict and set(body) == {"$int"}:
        return _int(body["$int"])
    raise WireError("malformed integer")


def _text(body):
    if type(body) is not str or len(body) > MAX_TEXT:
        raise WireError("malformed text")
    return body


def _module(name):
    return sys.modules.get(name) or __import__(name)


def _decode_defaultdict(decoder, body, depth):
    factory, pairs = body
    if factory is not None and factory not in DEFAULT_FACTORIES:
        raise WireError("unknown defaultdict factory")
    result = _module("collections").defaultdict(getattr(builtins, factory) if factory else None)
    result.update(decoder.pairs(pairs, depth))
    return result


def _decode_counter(decoder, body, depth):
    counter = _module("collections").Counter()
    for key, value in decoder.pairs(body, depth):
        counter[key] = value
    return counter


def _decode_deque(decoder, body, depth):
    items, maxlen = body
    if maxlen is not None and (type(maxlen) is not int or maxlen < 0):
        raise WireError("malformed deque")
    return _module("collections").deque(decoder.items(items, depth), maxlen)


def _decode_namedtuple(decoder, body, depth):
    name, fields, values = body
    if type(name) is not str or type(fields) is not list or len(fields) > 1000:
        raise WireError("malformed namedtuple")
    return _namedtuple_class(name, tuple(fields))(*decoder.items(values, depth))


_NAMEDTUPLES = {}


def _namedtuple_class(name, fields):
    key = (name, fields)
    if key not in _NAMEDTUPLES:
        if not all(type(f) is str and f.isidentifier() and not f.startswith("_") for f in fields):
            raise WireError("malformed namedtuple fields")
        safe = name if name.isidentifier() and not name.startswith("_") else "namedtuple"
        _NAMEDTUPLES[key] = _module("collections").namedtuple(safe, fields)
    return _NAMEDTUPLES[key]


def _decode_match(decoder, body, depth):
    groups, spans, names, string, lastindex, lastgroup = body
    groups = decoder.items(groups, depth)
    if (
        not groups
        or len(spans) != len(groups)
        or not all(g is None or type(g) in (str, bytes) for g in groups)
    ):
        raise WireError("malformed match")
    spans = [(_int(a), _int(b)) for a, b in spans]
    names = {_text(k): _int(v) for k, v in names}
    if lastindex is not None:
        lastindex = _int(lastindex)
    if lastgroup is not None:
        lastgroup = _text(lastgroup)
    return MatchRecord(groups, spans, names, decoder.decode(string, depth), lastindex, lastgroup)


def _decode_tz(body):
    if body is None:
        return None
    datetime = _module("datetime")
    return datetime.timezone(datetime.timedelta(_int(body[0]), _int(body[1]), _int(body[2])))


def _decode_time(body):
    hour, minute, second, micro, tz, fold = body
    return _module("datetime").time(
        _int(hour), _int(minute), _int(second), _int(micro), _decode_tz(tz), fold=_int(fold)
    )


def _decode_datetime(body):
    y, mo, d, h, mi, s, us, tz, fold = body
    return _module("datetime").datetime(
        _int(y),
        _int(mo),
        _int(d),
        _int(h),
        _int(mi),
        _int(s),
        _int(us),
        _decode_tz(tz),
        fold=_int(fold),
    )


def _decode_std(body):
    """The named pure callable, only when it is the object that name stands for (it encodes back to
    it).

    ``random.randint`` resolves to a bound method, whose own name is ``Random.randint``: a program
    that sends ``["random", "randint"]`` forged it (it labelled a function of its own so), and the
    tests could not send the result back to it.
    """
    if type(body) is not list or len(body) != 2:
        raise WireError("malformed standard-library name")
    try:
        value = resolve_std(body[0], body[1])
    except (ImportError, AttributeError):
        raise WireError("unknown standard-library name")
    if std_name(value) != body:
        raise WireError(
            "%s.%s is not a standard-library callable of that name" % (body[0][:100], body[1][:100])
        )
    return value


def _decode_float(body):
    if body not in ("nan", "inf", "-inf"):
        raise WireError("malformed float")
    return float(body)


def _decode_handle(decoder, body, depth):
    if (
        type(body) is not list
        or len(body) != 2
        or type(body[0]) is not str
        or type(body[1]) is not str
    ):
        raise WireError("malformed handle")
    return decoder.proxy_of(body[0][:100], body[1][:100])


_DECODERS = {
    "$int": lambda dec, body, depth: _int(body) if type(body) is str else _bad(),
    "$float": lambda dec, body, depth: _decode_float(body),
    "$tuple": lambda dec, body, depth: tuple(dec.items(body, depth)),
    "$dict": lambda dec, body, depth: dict(dec.pairs(body, depth)),
    "$set": lambda dec, body, depth: set(dec.items(body, depth)),
    "$frozenset": lambda dec, body, depth: frozenset(dec.items(body, depth)),
    "$bytes": lambda dec, body, depth: bytes.fromhex(_text_or_long(body)),
    "$bytearray": lambda dec, body, depth: bytearray.fromhex(_text_or_long(body)),
    "$complex": lambda dec, body, depth: complex(*[_real(v) for v in dec.items(body, depth)]),
    "$range": lambda dec, body, depth: range(*[_int(v) for v in body]),
    "$keys": lambda dec, body, depth: dict.fromkeys(dec.items(body, depth)).keys(),
    "$values": lambda dec, body, depth: dict(enumerate(dec.items(body, depth))).values(),
    "$items": lambda dec, body, depth: dict(dec.pairs(body, depth)).items(),
    "$counter": _decode_counter,
    "$ordereddict": lambda dec, body, depth: _module("collections").OrderedDict(
        dec.pairs(body, depth)
    ),
    "$defaultdict": _decode_defaultdict,
    "$deque": _decode_deque,
    "$namedtuple": _decode_namedtuple,
    "$decimal": lambda dec, body, depth: _module("decimal").Decimal(_text(body)),
    "$fraction": lambda dec, body, depth: _module("fractions").Fraction(
        _int(body[0]), _int(body[1])
    ),
    "$date": lambda dec, body, depth: _module("datetime").date(*[_int(v) for v in body]),
    "$time": lambda dec, body, depth: _decode_time(body),
    "$datetime": lambda dec, body, depth: _decode_datetime(body),
    "$timedelta": lambda dec, body, depth: _module("datetime").timedelta(*[_int(v) for v in body]),
    "$match": _decode_match,
    "$std": lambda dec, body, depth: _decode_std(body),
    "$h": _decode_handle,
    "$iter": lambda dec, body, depth: iter(dec.items(body, depth)),
}


def _bad():
    raise WireError("malformed value")


def _text_or_long(body):
    if type(body) is not str or len(body) > 2 * MAX_ITEMS * 64:
        raise WireError("malformed bytes")
    return body


def _real(value):
    if type(value) not in (int, float):
        raise WireError("malformed complex")
    return value
