"""The candidate process of ``code@2`` (sent into the sandbox after :mod:`.wire`, in one file).

It runs in the *untrusted* process next to the candidate's code, so nothing here is trusted and
nothing here ever sees test material: it loads the program (and the reference's
``test_setup_code``), then answers the test process's requests, one JSON line each, over two
pipes: ``call``, ``getattr``, ``len``, ``iter``... on the program's objects. Values go back as
plain data (:mod:`.wire`); every other object stays here and is sent as a handle.

Started either forked by the test process (the first one) or as ``python3 -I -S
candidate_runner.py IN_FD OUT_FD`` (after a timeout or crash).
"""

import builtins
import os
import sys

try:
    from .wire import Decoder, Encoder, WireError, dumps, loads
except ImportError:  # in the sandbox this file follows wire.py
    pass

MAX_LINE = 48 * 1024 * 1024
"""Longest reply; a value that encodes larger is sent as a handle."""
MAX_MESSAGE = 300
MUTABLE = (list, dict, set, bytearray)
"""Argument types whose in-place changes are copied back to the test's objects."""


class Runner(object):
    """Serve requests until the request pipe closes."""

    def __init__(self, fd_in, fd_out):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.pending = b""
        self.namespace = {}
        self.objects = {}
        self.by_identity = {}
        self.counter = 0
        self.generation = "0"

    # ------------------------------------------------------------ pipes
    def read_line(self):
        while b"\n" not in self.pending:
            chunk = os.read(self.fd_in, 1 << 20)
            if not chunk:
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line

    def write(self, reply):
        data = (dumps(reply) + "\n").encode()
        while data:
            data = data[os.write(self.fd_out, data) :]

    def serve(self):
        while True:
            line = self.read_line()
            if line is None:
                os._exit(0)
            self.write(self.answer(line))

    def answer(self, line):
        try:
            request = loads(line.decode())
            return OPS[request["op"]](self, request)
        except BaseException as exc:  # the program's own exceptions, and anything odd in a request
            return {"e": describe(exc)}

    # ------------------------------------------------------------ values
    def handle_of(self, value, name=None):
        if name is not None:
            return "n:" + name
        key = id(value)
        known = self.by_identity.get(key)
        if known is not None and self.objects.get(known) is value:
            return known
        self.counter += 1
        ident = "%s:%d" % (self.generation, self.counter)
        self.objects[ident] = value
        self.by_identity[key] = ident
        return ident

    def resolve(self, ident, type_name=None):
        if ident.startswith("n:"):
            name = ident[2:]
            if name not in self.namespace:
                raise NameError("name %r is not defined" % name)
            return self.namespace[name]
        if ident not in self.objects:
            raise LookupError(
                "the object no longer exists (the program was restarted after a timeout or crash)"
            )
        return self.objects[ident]

    def encode(self, value, name=None):
        """Plain value, or a handle (named ``n:<name>`` for a top-level name); too large an encoding
        is a handle too."""

        def handle_of(item):
            return self.handle_of(item, name if item is value else None)

        try:
            encoded = Encoder(handle_of).encode(value)
            if len(dumps(encoded)) <= MAX_LINE - 4096:
                return encoded
        except (WireError, RecursionError, OverflowError, ValueError):
            pass
        return {"$h": [self.handle_of(value, name), _qualname(value)]}

    def decode(self, data):
        return Decoder(self.resolve).decode(data)

    def target(self, request):
        return self.resolve(request["t"])


def _qualname(value):
    try:
        return str(type(value).__qualname__)[:100]
    except BaseException:
        return "object"


def describe(exc):
    """``[type name, message, is a builtin type, is an Exception]`` of an exception raised by the
    program."""
    try:
        kind = type(exc)
        name = str(kind.__name__)[:100]
        builtin = kind.__module__ == "builtins" and getattr(builtins, name, None) is kind
    except BaseException:
        name, builtin = "BaseException", False
    try:
        message = str(exc)[:MAX_MESSAGE]
    except BaseException:
        message = "<unprintable exception>"
    return [name, message, bool(builtin), isinstance(exc, Exception)]


# ---------------------------------------------------------------- operations
def op_load(runner, request):
    runner.generation = str(request["gen"])
    namespace = {"__name__": "solution", "__builtins__": builtins}
    runner.namespace = namespace
    try:
        code = compile(request["code"], "solution.py", "exec")
    # the grader only parsed it (compiling is the costly part: here, bounded)
    except SyntaxError as exc:
        return {"syntax_error": "%s: %s (line %s)" % (type(exc).__name__, exc.msg, exc.lineno)}
    except BaseException as exc:
        return {"load_error": describe(exc)}
    try:
        exec(code, namespace)
        if request.get("setup"):
            exec(compile(request["setup"], "test_setup_code", "exec"), namespace)
    except BaseException as exc:
        return {"load_error": describe(exc)}
    return {
        "loaded": {
            name: describe_name(runner, name) for name in request["names"] if name in namespace
        }
    }


def describe_name(runner, name):
    value = runner.namespace[name]
    if type(value) is type(sys):
        return {
            "module": str(getattr(value, "__name__", ""))[:200],
            "v": {"$h": ["n:" + name, "module"]},
        }
    return {"v": runner.encode(value, name)}


def op_call(runner, request):
    function = runner.target(request)
    raw_args, raw_kwargs = request["a"], request["k"]
    args = [runner.decode(a) for a in raw_args]
    kwargs = dict((str(k), runner.decode(v)) for k, v in raw_kwargs)
    result = function(*args, **kwargs)
    reply = {"r": runner.encode(result)}
    changed = _changed_arguments(runner, args, raw_args, kwargs, raw_kwargs)
    if changed:
        reply["m"] = changed
    return reply


def _changed_arguments(runner, args, raw_args, kwargs, raw_kwargs):
    changed = []
    slots = list(enumerate(zip(args, raw_args))) + [(k, (kwargs[k], v)) for k, v in raw_kwargs]
    for where, (value, raw) in slots:
        if type(value) in MUTABLE:
            now = runner.encode(value)
            if now != raw:
                changed.append([where, now])
    return changed


def op_getattr(runner, request):
    return {"r": runner.encode(getattr(runner.target(request), str(request["n"])))}


def op_setattr(runner, request):
    setattr(runner.target(request), str(request["n"]), runner.decode(request["v"]))
    return {"r": None}


def op_getitem(runner, request):
    return {"r": runner.encode(runner.target(request)[runner.decode(request["v"])])}


def op_setitem(runner, request):
    runner.target(request)[runner.decode(request["k"])] = runner.decode(request["v"])
    return {"r": None}


def op_isinstance(runner, request):
    return {"r": isinstance(runner.decode(request["v"]), runner.target(request))}


def op_next(runner, request):
    iterator, count, items = runner.target(request), min(int(request["n"]), 4096), []
    for _ in range(count):
        try:
            items.append(next(iterator))
        except StopIteration:
            return {"r": [runner.encode(i) for i in items], "done": True}
    return {"r": [runner.encode(i) for i in items], "done": False}


def _unary(function):
    return lambda runner, request: {"r": runner.encode(function(runner.target(request)))}


OPS = {
    "load": op_load,
    "call": op_call,
    "getattr": op_getattr,
    "setattr": op_setattr,
    "getitem": op_getitem,
    "setitem": op_setitem,
    "isinstance": op_isinstance,
    "next": op_next,
    "len": _unary(len),
    "bool": _unary(bool),
    "str": _unary(str),
    "repr": _unary(repr),
    "iter": _unary(iter),
    "int": _unary(int),
    "float": _unary(float),
    "index": _unary(lambda v: v.__index__()),
}


def main(fd_in, fd_out):
    """Entry point in the candidate process (never returns)."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    Runner(fd_in, fd_out).serve()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
