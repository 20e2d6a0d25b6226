"""The test process of ``code@2``: runs the (rewritten) test program against the candidate.

Sent into the sandbox as part of the harness (after :mod:`.wire`, :mod:`.client`,
:mod:`.remote`, :mod:`.recorder`). The harness forks this process before it reads its secret;
this process forks the first candidate process *before* it reads the test file, goes
non-dumpable (inherited from the harness), reads and deletes the test file, waits until the
harness has deleted the secret, and only then lets the candidate run. So no memory of the
candidate's process ever held test material, and this process never held the secret.

Names in the test program resolve, later winning: builtins < the candidate's top-level names
(only those the tests asked for, never a dunder; functions, classes and other objects as
:class:`~.remote.Remote` proxies; modules and pure standard-library callables as this process's
own; plain data as values, copied once the program and ``test_setup_code`` have run) < the
reference's helpers (the prompt's, the trusted part of ``test_setup_code``: run here, from the
reference; checked once with the real builtins and none of the program's names, so a later
failure is the program's) < the test program's own statements. ``__name__`` and ``__builtins__``
are set last.

When the candidate binds a name the tests use (other than the entry point) that is a builtin, a
standard-library module or a library name (:attr:`~.plan.TestProgram.library`) to something else
than that standard-library object, the whole test program runs twice: first with the real object
under that name, then with the candidate's; a case passes only if it passes in both runs. The real
run comes first because in the other one the candidate's versions receive the tests' data
(``abs(f(x) - expected)``), which it could otherwise replay.

Nothing the candidate sends is the tests' fault: a reply this process cannot decode (too deep, too
big) is the program's failure, and signals whose Python handler raises (SIGINT) are ignored here
(:func:`~.client.ignore_raising_signals`, set by the harness before it forks).
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
    """Body of the test process (never returns); ``runner`` is the candidate runner's code
    object."""
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
            data = data[os.write(self.fd, data) :]


def grade(tests, client, send):
    """Load the candidate, bind names, run the tests (twice when a builtin is shadowed)."""
    compiled = [
        compile(source, "<test statement %d>" % (i + 1), "exec")
        for i, source in enumerate(tests["statements"])
    ]
    prelude = [
        compile(source, "<reference helpers>", "exec") for source in tests.get("prelude") or ()
    ]
    # the program loads while the helpers are checked
    loaded = load(tests, client, lambda: check_prelude(prelude))
    if "load" in loaded or "reference" in loaded:
        return loaded
    bindings = loaded["bindings"]
    shadowed = shadowed_names(bindings, tests)
    try:
        if not shadowed:
            return {"cases": run_pass(tests, compiled, prelude, bindings, client, send, {})}
        # The run with the real builtins/modules comes first: in the other run the program's own
        # versions see the tests' data (abs(f(x) - expected)), which must not help it in this one.
        real = run_pass(
            tests,
            compiled,
            prelude,
            bindings,
            client,
            send,
            {name: real_binding(name, tests) for name in shadowed},
        )
        own = run_pass(tests, compiled, prelude, bindings, client, send, {}, (real, shadowed))
    except ReferenceProblem as problem:
        return {"reference": str(problem)[:500]}
    return {"cases": combine(real, own, shadowed), "shadowed": shadowed}


def load(tests, client, meanwhile):
    """``{"bindings": ...}``, ``{"load": [code, message]}`` (whatever the program's replies hold is
    its own failure) or ``{"reference": ...}`` (``meanwhile()``, run while the program loads, raised
    ReferenceProblem)."""
    malformed = ["runtime_error", "the program's process sent a malformed reply while loading"]
    try:
        client.start_load(tests["names"])
        meanwhile()
        reply = client.finish_load()
    except ReferenceProblem as problem:
        return {"reference": str(problem)[:500]}
    except _Stopped as stopped:
        return {"load": load_stop(client, stopped.how)}
    # undecodable: too deep (RecursionError), too big (MemoryError), not JSON...
    except Exception as exc:
        client.process.kill()
        return {"load": [malformed[0], "%s (%s)" % (malformed[1], type(exc).__name__)]}
    if type(reply) is not dict:
        return {"load": malformed}
    if "syntax_error" in reply:
        return {"load": ["syntax_error", str(reply["syntax_error"])[:300]]}
    if "load_error" in reply:
        return {"load": load_error(reply["load_error"])}
    if "loaded" not in reply:
        return {"load": malformed}
    try:
        return {"bindings": bind(reply["loaded"], tests)}
    except Exception as exc:
        return {
            "load": [
                "runtime_error",
                "the program's names could not be bound (%s)" % describe(exc)[:200],
            ]
        }


def load_stop(client, how):
    """``[code, message]`` for a candidate that stopped answering while it loaded."""
    if how == "crashed" and client.process.wait_exit(0.25):
        client.process.kill()
        return list(client.process.death("while loading the program"))
    client.process.kill()
    if how == "timeout":
        return [
            "timeout",
            "loading the program did not finish within %g s" % client.job["timeout_s"],
        ]
    if how == "output_limit":
        return [
            "output_limit",
            "the program printed more than %d bytes while loading" % client.job["output_bytes"],
        ]
    if how == "garbled":
        return ["runtime_error", "the program's process sent a malformed reply while loading"]
    return ["runtime_error", "the program closed its reply pipe while loading"]


def load_error(error):
    try:
        name, message = str(error[0])[:100], str(error[1])[:200]
    except Exception:
        name, message = "Error", ""
    code = "memory_limit" if name == "MemoryError" else "runtime_error"
    return [
        code,
        "%s while loading the program: %s" % (name, message)
        if message
        else "%s while loading the program" % name,
    ]


# ---------------------------------------------------------------- names
def bind(loaded, tests):
    """The candidate's reported names -> objects in this process.

    Only the names the tests asked for (never a dunder): the program may report others (it can
    change the request it answers), and they are ignored.
    """
    if type(loaded) is not dict:
        raise WireError("malformed names")
    asked, stdlib = set(tests["names"]), set(tests.get("stdlib_names") or ())
    bindings = {}
    for name, description in loaded.items():
        if (
            type(name) is not str
            or name not in asked
            or (name.startswith("__") and name.endswith("__"))
        ):
            continue
        if type(description) is not dict:
            raise WireError("malformed name %r" % name[:50])
        module = description.get("module")
        own = own_module(name, module, stdlib) if type(module) is str else None
        bindings[name] = own if own is not None else CLIENT[0].decode(description["v"])
    return bindings


def own_module(name, module, stdlib):
    """This process's import of ``module`` when the candidate bound a standard-library module under
    its own name (one the tests use as a module) or the module is pure."""
    if not ((module == name and name in stdlib) or module in PURE_MODULES):
        return None
    try:
        __import__(module)
        return sys.modules[module]
    except BaseException:
        return None


def shadowed_names(bindings, tests):
    """Names the tests use that the candidate bound to something else than the builtin, the module
    or the standard-library object of that name (:attr:`~.plan.TestProgram.library`)."""
    used, entry, modules = (
        set(tests["names"]),
        tests.get("entry"),
        set(tests.get("stdlib_names") or ()),
    )
    library = dict((name, module) for name, module in tests.get("library") or ())
    found = []
    for name, value in sorted(bindings.items()):
        if name == entry or name not in used:
            continue
        if hasattr(builtins, name):
            shadowed = value is not getattr(builtins, name)
        elif name in modules:  # the module itself, or its namesake (from datetime import datetime)
            module = type(value) is type(sys) and value.__name__ == name
            shadowed = not module and not same_object(value, library_object(name, name))
        else:
            shadowed = name in library and not same_object(
                value, library_object(name, library[name])
            )
        if shadowed:
            found.append(name)
    return found


def same_object(value, real):
    """The program's binding is the standard-library object (or an equal plain constant, like
    ``pi``)."""
    if real is MISSING or value is real:
        return real is not MISSING
    return (
        type(value) is type(real) and type(real) in (int, float, str, bytes, bool) and value == real
    )


MISSING = object()


def library_object(name, module):
    try:
        return getattr(__import__(module), name)
    except BaseException:
        return MISSING


def real_binding(name, tests):
    """What the run with the real ones binds ``name`` to: the builtin, the module or the library
    object."""
    if hasattr(builtins, name):
        return getattr(builtins, name)
    library = dict((n, m) for n, m in tests.get("library") or ())
    if name in library:
        return library_object(name, library[name])
    try:
        __import__(name)
        return sys.modules[name]
    except BaseException:
        return MISSING


# ---------------------------------------------------------------- one run of the test program
def run_pass(tests, compiled, prelude, bindings, client, send, real, earlier=None):
    """One run of the test program; ``real`` rebinds names to the real builtins/modules/library
    objects.

    ``earlier`` is ``(results, shadowed)`` of the run before, combined into the partial reports.
    """
    recorder = Recorder(tests["n_cases"], tests["owned"], tests["tripwires"])
    client.on_abort = recorder.on_abort
    namespace = dict(bindings)
    for name, value in real.items():
        if hasattr(builtins, name) and value is getattr(builtins, name):
            namespace.pop(name, None)
        elif value is not MISSING:
            namespace[name] = value
    # after the program's names, always
    namespace.update({"__name__": "__main__", "__builtins__": builtins})
    failed = run_prelude(prelude, namespace)
    # it ran with the real builtins before (check_prelude): the program's names broke it
    if failed is not None:
        results = [
            [
                "runtime_error",
                "the reference's helper code failed with the program's names: %s" % failed,
            ]
        ]
        results = results * tests["n_cases"]
        send({"cases": results if earlier is None else combine(earlier[0], results, earlier[1])})
        return results
    namespace.update(
        zip(RECORDER_NAMES, (recorder.check, recorder.compare, recorder.value, recorder.tripwire))
    )
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


def check_prelude(prelude):
    """The reference's helpers (prompt, trusted ``test_setup_code``) with the real builtins and none
    of the program's names: a failure here is the reference's."""
    failed = run_prelude(prelude, {"__name__": "__main__", "__builtins__": builtins})
    if failed is not None:
        raise ReferenceProblem(
            "the reference's helper code (prompt or test_setup_code) failed in the test "
            "process: %s" % failed
        )


def run_prelude(prelude, namespace):
    """The reference's helpers and imports (compiled), run here; None, or what went wrong."""
    for code in prelude:
        try:
            exec(code, namespace)
        except CallAbort as abort:
            return abort.message
        except BaseException as exc:
            return describe(exc)
    return None


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
    """A case passes only when it passed in both runs (with the real builtins/modules, and with the
    program's)."""
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
