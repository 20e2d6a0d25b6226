"""Proxies, in the test process, for the candidate's objects (``code@2``; sent into the sandbox).

A :class:`Remote` stands for one object that lives in the candidate's process (a function, a
class, an instance, an iterator). The test can call it, read and set its attributes, index,
iterate (items come as plain values, in growing batches), ``len`` it, test its truth, convert it
with ``str``/``int``/``float``, ask ``isinstance(obj, RemoteClass)``, and pass it back to the
candidate. Each of these is one request answered by the candidate with a plain value (or
another handle).

What is never delegated: ``==``, ``!=``, ``hash`` and ordering are the proxy's identity (one
proxy per remote object, so ``f() is f()`` and ``Color.RED == Color.RED`` hold); ``x in obj``
iterates ``obj`` and compares here; ``isinstance(plain_value, RemoteClass)`` is False without
asking. So the candidate never sees an expected value through a comparison and never decides
one. ``repr`` for failure messages is local (:func:`safe_repr`).
"""

try:
    from .client import CandidateError
except ImportError:  # in the sandbox this file follows client.py
    pass

CLIENT = [None]
"""The :class:`~.client.Client` all proxies talk through (one per test process)."""
FIRST_BATCH, LAST_BATCH = 8, 1024
REMOTE_DUNDERS = ("__name__", "__qualname__", "__dict__")
"""The only dunder attributes read from the candidate (others are looked up by Python machinery)."""


def _client():
    return CLIENT[0]


def _exact(value, kinds, what):
    if type(value) not in kinds:
        raise TypeError(
            "the program's %s returned %s, not %s" % (what, type(value).__name__, kinds[0].__name__)
        )
    return value


class Remote(object):
    """An object of the candidate's program, used from the tests (see the module docstring)."""

    __slots__ = ("_rlvr_ident", "_rlvr_type", "__weakref__")

    def __init__(self, ident, type_name):
        object.__setattr__(self, "_rlvr_ident", ident)
        object.__setattr__(self, "_rlvr_type", type_name)

    def __call__(self, *args, **kwargs):
        return _client().call(self, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in REMOTE_DUNDERS:
            raise AttributeError(name)
        return _client().op("getattr", self, n=name)

    def __setattr__(self, name, value):
        _client().op("setattr", self, n=name, v=_client().encode(value))

    def __getitem__(self, key):
        return _client().op("getitem", self, v=_client().encode(key))

    def __setitem__(self, key, value):
        _client().op("setitem", self, k=_client().encode(key), v=_client().encode(value))

    def __len__(self):
        size = _exact(_client().op("len", self), (int,), "__len__")
        if size < 0:
            raise ValueError("__len__() should return >= 0")
        return size

    def __bool__(self):
        return _exact(_client().op("bool", self), (bool,), "__bool__")

    def __contains__(self, item):
        # decided here, on items fetched as plain values: the candidate never sees ``item`` (it may
        # be expected data)
        return any(element is item or element == item for element in self)

    def __iter__(self):
        iterator = _client().op("iter", self)
        return RemoteIterator(iterator) if type(iterator) is Remote else iter(iterator)

    def __next__(self):
        items, _ = _client().next_items(self, 1)
        if not items:
            raise StopIteration
        return items[0]

    def __str__(self):
        return _exact(_client().op("str", self), (str,), "__str__")

    def __repr__(self):
        return _exact(_client().op("repr", self), (str,), "__repr__")

    def __int__(self):
        return _exact(_client().op("int", self), (int,), "__int__")

    def __index__(self):
        return _exact(_client().op("index", self), (int,), "__index__")

    def __float__(self):
        return _exact(_client().op("float", self), (float,), "__float__")

    def __instancecheck__(self, value):
        if type(value) is not Remote:  # a plain value is never an instance of the program's classes
            return False
        return _exact(
            _client().op("isinstance", self, v=_client().encode(value)), (bool,), "isinstance"
        )

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = object.__hash__

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError("an object of the program cannot be pickled")

    def __dir__(self):
        return []

    def describe(self):
        """A local description for messages (never asks the candidate)."""
        return "<%s object of the program>" % object.__getattribute__(self, "_rlvr_type")


class RemoteIterator(object):
    """Iterates a remote iterator, fetching items in growing batches (8, 16, ... 1024)."""

    def __init__(self, handle):
        self.handle, self.buffer, self.done, self.batch = handle, [], False, FIRST_BATCH

    def __iter__(self):
        return self

    def __next__(self):
        if not self.buffer and not self.done:
            items, self.done = _client().next_items(self.handle, self.batch)
            self.buffer = items[::-1]
            self.batch = min(self.batch * 2, LAST_BATCH)
        if not self.buffer:
            raise StopIteration
        return self.buffer.pop()


# ---------------------------------------------------------------- messages
MAX_REPR = 120


def safe_repr(value, depth=0):
    """A short repr that never raises and never asks the candidate (huge ints, hostile objects)."""
    try:
        text = _repr(value, depth)
    except BaseException:
        text = "<unprintable %s>" % _kind(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


def _kind(value):
    try:
        return type(value).__name__
    except BaseException:
        return "object"


def _repr(value, depth):
    kind = type(value)
    if kind is Remote:
        return value.describe()
    if kind is int and value.bit_length() > 200:
        return "<int of about %d digits>" % int(value.bit_length() * 0.30103 + 1)
    if kind in (int, float, bool, complex) or value is None:
        return repr(value)
    if kind in (str, bytes, bytearray):
        return repr(value[:MAX_REPR])
    if depth >= 3:
        return "<%s>" % kind.__name__
    if kind in (list, tuple, set, frozenset):
        items = [safe_repr(v, depth + 1) for _, v in zip(range(8), value)]
        more = ", ..." if len(value) > 8 else ""
        opening, closing = {list: "[]", tuple: "()", set: "{}", frozenset: "{}"}[kind]
        return opening + ", ".join(items) + more + closing
    if kind is dict:
        pairs = [
            "%s: %s" % (safe_repr(k, depth + 1), safe_repr(v, depth + 1))
            for _, (k, v) in zip(range(8), value.items())
        ]
        return "{" + ", ".join(pairs) + (", ..." if len(value) > 8 else "") + "}"
    if isinstance(value, BaseException):
        return "%s(%s)" % (kind.__name__, safe_repr(str(value), depth + 1))
    return repr(value)  # real standard-library objects built from data; guarded by safe_repr


__all__ = ["Remote", "RemoteIterator", "CandidateError", "safe_repr", "CLIENT"]
