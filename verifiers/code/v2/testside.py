"""The test process of ``code@2``: runs the (rewritten) test program against the candidate.

Sent into the sandbox as part of the harness (after :mod:`.wire`, :mod:`.client`,
:mod:`.remote`, :mod:`.recorder`). The harness forks this process before it reads its secret;
this process forks the first candidate process *before* it reads the test file, goes
non-dumpable (inherited from the harness), reads and deletes the test file, waits until the
harness has deleted the secret, and only then lets the candidate run. So no memory of the
candidate's process ever held test material, and this process never held the secret.

Names in the test program resolve, later winning: builtins < the candidate's top-level names
(functions, classes and other objects as :class:`~.remote.Remote` proxies; modules and pure
standard-library callables as this process's own; plain data as values, copied once the program
and ``test_setup_code`` have run) < the reference prompt's helpers (run here, from the
reference) < the test program's own statements.

When the candidate binds a name the tests use that is a builtin or a standard-library module
(other than the entry point), the whole test program runs twice: first with the real builtin or
module under that name, then with the candidate's; a case passes only if it passes in both runs.
The real run comes first because in the other one the candidate's versions receive the tests'
data (``abs(f(x) - expected)``), which it could otherwise replay.
"""

import builtins
import os
import sys

try:
    from .client import CallAbort, Client, UnsendableArgument, _Stopped
    from .recorder import Recorder
    from .remote import CLIENT, Remote
    from .wire import PURE_MODULES, WireError, dumps, loads
except ImportError:  # in the sandbox this file follows the files above
    pass

TESTS_FILE = "tests.json"
RANDOM_SEED = 20240601
"""``random`` is seeded with this before each run of the tests, so verdicts are deterministic."""
RECORDER_NAMES = ("__rlvr_check__", "__rlvr_cmp__", "__rlvr_value__", "__rlvr_trip__")


class ReferenceProblem(Exception):
    """The test material itself is broken (its fault, not the candidate's): an ``error`` verdict."""


def test_process(job, results_fd, sync_fd, libc, runner):
    """Body of the test process (never returns); ``runner`` is the candidate runner's code object."""
    send = Sender(results_fd)
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        client = Client(job, libc, send, Remote, runner)
        CLIENT[0] = client
        first = client.start()
        with open(TESTS_FILE, "rb") as fh:
            tests = loads(fh.read().decode())
        os.unlink(TESTS_FILE)
        os.read(sync_fd, 1)  # the harness has read and deleted the secret
        os.close(sync_fd)
        first.release()
        outcome = grade(tests, client, send)
        client.close()
        send(dict(outcome, done=True))
    except BaseException:
        import traceback

        send({"internal": traceback.format_exc()[-2000:], "done": True})
    os._exit(0)


class Sender(object):
    """JSON lines to the harness."""

    def __init__(self, fd):
        self.fd = fd

    def __call__(self, record):
        data = (dumps(record) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


def grade(tests, client, send):
    """Load the candidate, bind names, run the tests (twice when a builtin is shadowed)."""
    compiled = [compile(source, "<test statement %d>" % (i + 1), "exec") for i, source in enumerate(tests["statements"])]
    try:
        reply = client.load(tests["names"])
    except _Stopped as stopped:
        return {"load": load_stop(client, stopped.how)}
    except ValueError:
        return {"load": ["runtime_error", "the program's process sent a malformed reply while loading"]}
    if "load_error" in reply:
        return {"load": load_error(reply["load_error"])}
    if "loaded" not in reply:
        return {"load": ["runtime_error", "the program's process sent a malformed reply while loading"]}
    try:
        bindings = bind(reply["loaded"])
    except (WireError, TypeError, AttributeError, KeyError) as exc:
        return {"load": ["runtime_error", "the program's names could not be bound (%s)" % str(exc)[:200]]}
    shadowed = shadowed_names(bindings, tests)
    try:
        if not shadowed:
            return {"cases": run_pass(tests, compiled, bindings, client, send, {})}
        # The run with the real builtins/modules comes first: in the other run the program's own
        # versions see the tests' data (abs(f(x) - expected)), which must not help it in this one.
        real = run_pass(tests, compiled, bindings, client, send, {name: real_binding(name) for name in shadowed})
        own = run_pass(tests, compiled, bindings, client, send, {}, (real, shadowed))
    except ReferenceProblem as problem:
        return {"reference": str(problem)[:500]}
    return {"cases": combine(real, own, shadowed), "shadowed": shadowed}


def load_stop(client, how):
    """``[code, message]`` for a candidate that stopped answering while it loaded."""
    if how == "crashed" and client.process.wait_exit(0.25):
        client.process.kill()
        return list(client.process.death("while loading the program"))
    client.process.kill()
    if how == "timeout":
        return ["timeout", "loading the program did not finish within %g s" % client.job["timeout_s"]]
    if how == "output_limit":
        return ["output_limit", "the program printed more than %d bytes while loading" % client.job["output_bytes"]]
    if how == "garbled":
        return ["runtime_error", "the program's process sent a malformed reply while loading"]
    return ["runtime_error", "the program closed its reply pipe while loading"]


def load_error(error):
    try:
        name, message = str(error[0])[:100], str(error[1])[:200]
    except (TypeError, IndexError, KeyError):
        name, message = "Error", ""
    code = "memory_limit" if name == "MemoryError" else "runtime_error"
    return [code, "%s while loading the program: %s" % (name, message) if message else "%s while loading the program" % name]


# ---------------------------------------------------------------- names
def bind(loaded):
    """The candidate's reported names -> objects in this process."""
    if type(loaded) is not dict:
        raise WireError("malformed names")
    bindings = {}
    for name, description in loaded.items():
        if type(name) is not str or not name.isidentifier() or type(description) is not dict:
            raise WireError("malformed name %r" % str(name)[:50])
        module = description.get("module")
        own = own_module(name, module) if type(module) is str else None
        bindings[name] = own if own is not None else CLIENT[0].decode(description["v"])
    return bindings


def own_module(name, module):
    """This process's import of ``module`` when the candidate bound it under its own name or it is pure."""
    if module != name and module not in PURE_MODULES:
        return None
    try:
        __import__(module)
        return sys.modules[module]
    except BaseException:
        return None


def shadowed_names(bindings, tests):
    """Names the tests use that the candidate bound to something else than the builtin / the module."""
    used, entry, modules = set(tests["names"]), tests.get("entry"), set(tests.get("stdlib_names") or ())
    found = []
    for name, value in sorted(bindings.items()):
        if name == entry or name not in used:
            continue
        if hasattr(builtins, name) and value is not getattr(builtins, name):
            found.append(name)
        elif name in modules and not (type(value) is type(sys) and value.__name__ == name):
            found.append(name)
    return found


def real_binding(name):
    if hasattr(builtins, name):
        return getattr(builtins, name)
    try:
        __import__(name)
        return sys.modules[name]
    except BaseException:
        return None


# ---------------------------------------------------------------- one run of the test program
def run_pass(tests, compiled, bindings, client, send, real, earlier=None):
    """One run of the test program; ``real`` rebinds names to the real builtins/modules.

    ``earlier`` is ``(results, shadowed)`` of the run before, combined into the partial reports.
    """
    recorder = Recorder(tests["n_cases"], tests["owned"], tests["tripwires"])
    client.on_abort = recorder.on_abort
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    namespace.update(bindings)
    for name, value in real.items():
        if hasattr(builtins, name) and value is getattr(builtins, name):
            namespace.pop(name, None)
        elif value is not None:
            namespace[name] = value
    run_prelude(tests.get("prelude") or (), namespace)
    namespace.update(zip(RECORDER_NAMES, (recorder.check, recorder.compare, recorder.value, recorder.tripwire)))
    if tests.get("seed_random"):
        __import__("random").seed(RANDOM_SEED)
    for index, code in enumerate(compiled):
        escaped = None
        try:
            exec(code, namespace)
        except BaseException as exc:
            escaped = exc
            if is_reference_problem(exc):
                raise ReferenceProblem(reference_message(exc))
        recorder.statement_done(index, escaped, reason_of)
        partial = recorder.results(final=False)
        send({"cases": partial if earlier is None else combine(earlier[0], partial, earlier[1])})
    return recorder.results()


def run_prelude(statements, namespace):
    """The reference prompt's helpers and imports, run here (the prompt is reference material)."""
    for source in statements:
        try:
            exec(compile(source, "<reference prompt>", "exec"), namespace)
        except BaseException as exc:
            raise ReferenceProblem("the reference prompt's helper code failed in the test process: %s" % describe(exc))


def is_reference_problem(exc):
    if isinstance(exc, UnsendableArgument):
        return True
    return isinstance(exc, ImportError) and not getattr(exc, "_rlvr_from_candidate", False)


def reference_message(exc):
    if isinstance(exc, UnsendableArgument):
        return "code@2 cannot run these tests: %s" % str(exc)[:300]
    return "the test program failed to import a module: %s" % describe(exc)


def reason_of(exc, in_assert):
    """``(code, message)`` for an exception that left a top-level statement."""
    if isinstance(exc, CallAbort):
        return exc.code, exc.message
    if isinstance(exc, MemoryError):
        return "memory_limit", "MemoryError (the program exceeded the memory limit)"
    if getattr(exc, "_rlvr_from_candidate", False):
        return "runtime_error", "%s (raised by the program)" % describe(exc)
    if in_assert and not isinstance(exc, NameError):
        return "wrong_answer", "the assert raised %s" % describe(exc)
    return "runtime_error", describe(exc)


def describe(exc):
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    name = type(exc).__name__
    if name in ("CandidateError", "CandidateExit"):
        return message[:300]
    return ("%s: %s" % (name, message) if message else name)[:300]


def combine(real, own, shadowed):
    """A case passes only when it passed in both runs (with the real builtins/modules, and with the program's)."""
    note = " (run with the real %s instead of the program's)" % ", ".join(shadowed)
    out = []
    for a, b in zip(real, own):
        if a is not None and a[0] != "pass":
            out.append([a[0], a[1] + note])
        elif a is None or b is None or b[0] != "pass":
            out.append(b if a is not None else None)
        else:
            out.append(a)
    return out
