"""The ``code@2`` verifier: assert-style tests run as a program, in a process of their own."""

from __future__ import annotations

import symtable
import warnings
from typing import Any, Mapping

from ...base import Outcome
from ...errors import BadReferenceError
from ...registry import register
from ..python import build_program
from ..stdio import cases_for, check_stdio
from ..verifier import CodeVerifier
from .plan import plan_program
from .run import run_program


@register
class CodeVerifierV2(CodeVerifier):
    """Runs the program in the response against the reference's tests, in a sandbox.

    References, as for ``code@1``: ``{"tests": "...", "entry_point": "f" (optional), "prompt":
    "..." (optional prefix), "test_setup_code": "..." (optional, MBPP)}`` or stdin/stdout
    ``{"cases": [{"input", "output"}], "language": ...}`` (graded as by ``code@1``).

    **Tests are a program.** Any Python using the standard library: loops, helper functions,
    random inputs (``random`` is seeded, so verdicts are deterministic), assignments, imports,
    ``def check(candidate)`` (called with the entry point when the tests never call it).
    ``test_setup_code`` is split by top-level statement
    (:func:`~verifiers.code.v2.plan.split_setup`): its function and class definitions,
    standard-library imports and assignments to plain names that use none of the program's names
    (builtins and each other only: a ``near(a, b)`` checker, ``EPS = 1e-9``) run in the test
    process, and the tests use those; the whole of it also runs after the candidate's program, in
    its process, where the statements that build inputs from the program's names (MBPP's
    ``root = Node(1)``) take effect. So the tests' checkers never run with the program's builtins;
    known cost: the tests cannot pass the program an instance of a class ``test_setup_code`` defines
    (``bad_reference``; build it in ``test_setup_code``). Each assert that is not a true constant is
    a case (:mod:`verifiers.code.v2.plan`); ``pass_rate`` is the fraction of cases that ran and
    passed every time they ran. An ``assert False`` passes when it is never reached. An exception
    that leaves a top-level statement fails that statement's cases not yet run. Failure codes as in
    ``code@1``: ``syntax_error``, ``runtime_error``, ``wrong_answer``, ``timeout`` (one call into
    the program longer than ``case_timeout_s``, or the whole run too long), ``memory_limit``,
    ``output_limit``, ``no_result``. The grader only parses the program (:func:`parse_error`;
    compiling can take gigabytes: bytecode may grow exponentially in the source); an error only the
    compiler finds (``return`` outside a function) is a ``syntax_error`` from the sandbox, and for
    stdin/stdout cases the program's crash. Broken test material (does not compile, imports outside
    the standard library, no assert, ``check`` never called without an ``entry_point``, helpers of
    the prompt or ``test_setup_code`` that fail with the real builtins and none of the program's
    names) is an ``error`` (``bad_reference``), never a ``fail``; whatever the program does (its
    replies, values, signals) is never one.

    **Two processes.** In the sandbox a trusted harness forks a *test process* that forks the
    *candidate process* before reading the tests; the tests run in the test process and call
    the candidate's functions over a pipe (:mod:`verifiers.code.v2.client`). Arguments and
    results cross as plain values (:mod:`verifiers.code.v2.wire`: builtin types and the
    standard library's ``Counter``, ``defaultdict``, ``OrderedDict``, ``deque``, ``Decimal``,
    ``Fraction``, ``datetime`` types, namedtuples; ``re.Match`` as a record), rebuilt as real
    objects, so every comparison is Python's own, done by the tests. Any other object stays in
    the candidate's process and is used through a proxy whose ``==``, ``hash`` and ordering are
    its identity. The candidate's exceptions are re-raised as the same builtin ``Exception`` type
    (its own exception classes and ``StopIteration`` as ``CandidateError``; ``SystemExit``,
    ``KeyboardInterrupt`` and other non-``Exception`` s as ``CandidateExit``, which ``except
    Exception`` does not catch). Mutated list/dict/set arguments are copied back; an iterator
    the tests pass is sent as its items. The tests cannot pass their own functions or objects
    (that is a ``bad_reference``: no test code ever runs in the candidate's process); a value
    that came from the program and cannot go back (an integer grown too large) fails the case. The
    candidate's plain top-level data is copied once, after its program and ``test_setup_code``.

    **Names.** In the tests, later wins: builtins < the candidate's top-level names (a function
    named ``max`` *is* called) < the reference's helpers (the prompt's helper functions and
    constants, the trusted part of ``test_setup_code``: run in the test process, from the
    reference) < the test program's own definitions; ``__name__`` and ``__builtins__`` are the test
    process's own, always. The candidate supplies only the names the tests read as globals and
    never bind (never a dunder): whatever else it reports is ignored. A candidate's module or pure
    standard-library function is bound to the test process's own copy. When the candidate binds a
    name the tests use (other than ``entry_point``) that is a builtin, a standard-library module,
    or a public name of ``collections``, ``math``, ``itertools``, ``functools``, ``operator``,
    ``re``, ``heapq``, ``bisect``, ``string``, ``fractions``, ``decimal``, ``datetime``,
    ``statistics``, ``copy`` or ``random`` (the first of these that has it: tests often use the
    program's ``from collections import Counter``), to something other than that standard-library
    object, the tests run twice, first with the real builtin, module or object under that name,
    then with the candidate's, and a case passes only if it passes both times (the real run comes
    first: in the other one the candidate's ``abs`` or ``Counter`` receive the tests' expected
    values, which it must not be able to replay). A name the tests only ever call as the function
    under test (``assert count([1, 2]) == 2``: literal arguments, compared with a literal) is
    exempt from the last rule, as it never receives anything the tests computed. Known cost: a task
    whose function is deliberately named like a builtin (MBPP's ``sum``), or like one of those
    library names and called otherwise (``assert gcd(a, b) == g``), with no ``entry_point``, fails
    the run with the real one unless it behaves the same.

    **What the candidate can reach:** its own program and process; the reference's
    ``test_setup_code`` (source and inputs, in its process); the arguments the tests pass to its
    functions (and it may mutate them: they are copied back at once, as Python would share them,
    so in ``assert f(xs) == ref(xs)`` the tests' ``ref`` sees the ``xs`` that ``f`` left, exactly as
    in plain Python: a residual the tests avoid by not reusing an argument the program may change);
    the names the tests use (not their values), sent so that it reports only those; in the run
    with its own versions of shadowed names, whatever the tests pass to those; the sandbox's files
    (the harness's sources, public); its own output; signals to the harness and the test process
    (SIGINT is ignored there; a kill or stop only removes results). **What it cannot reach:** the
    test source and every expected value (they are only ever in the test process, which is
    non-dumpable: no ``ptrace``, ``/proc/<pid>/mem`` or ``/proc/<pid>/fd``; the harness refuses to
    run tests when it cannot make it so), the test process's globals and frames (another
    process), the secret that signs results, the comparisons (they run in the test process on
    values it rebuilt; ``x in obj`` on its objects too), the builtins and modules the tests use
    (the test process's own), the harness's pipes (it is forked before they exist; restarted
    candidates are fresh ``exec`` s with only their two pipes), the workspace as a source of
    modules for the test process. Killing or stopping the test process or the harness only
    removes results (``no_result`` / ``timeout``). Residual risks as in ``code@1`` (the local
    backend without root runs everything as the grader's user; kernel or Docker escapes are out
    of scope).

    >>> from verifiers.code import CodeConfig
    >>> v = CodeVerifierV2(CodeConfig(sandbox="local"))
    >>> tests = "for x in range(5):\\n    assert f(x) == 2 * x"
    >>> v.verify("def f(x):\\n    return 2 * x", {"tests": tests}).status.value
    'pass'

    Versions:

    1 - first version (python asserts split into candidate units evaluated in the sandbox and
        compared in the grader; stdio for python, c, cpp, javascript).
    2 - tests run as a real program in a test process next to the candidate's process (loops,
        helpers, random inputs, any standard-library import, ``check`` implied by
        ``entry_point``, ``test_setup_code``): HumanEval 164/164 instead of 157/164, MBPP
        973/974 instead of 967/974. Why each change:
        standard-library results (``Counter``, ``defaultdict``, ``re.Match``...) compare as
        Python compares them (MBPP 40, 88, 653, 902 were failed); a candidate function named
        like a builtin is called, never the builtin (``def max(a): return -1`` passed @1), and
        redefining builtins or modules the tests use cannot help (a run with the real ones, done
        first); test data never enters the candidate's process (@1 ran module-level test
        constants and comprehension loops there, where the candidate could read them: a false
        pass); prompt helpers run from the reference (a candidate could redefine them); a wrong
        answer of any size or type is a ``fail`` (a huge integer made @1's message raise:
        ``error: verifier_crashed``). stdin/stdout cases unchanged.
    """

    name = "code"
    version = 2
    description = (
        "runs the response's program against assert tests (as a program) "
        "or stdin/stdout cases in a sandbox"
    )

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        found = self._program(response, reference)
        if isinstance(found, Outcome):
            return found
        language, program = found
        if "cases" in reference:
            return self._stdio(program, language, reference)
        if language != "python":
            raise BadReferenceError(
                f"assert-style 'tests' are Python only; give 'cases' for {language}"
            )
        tests = plan_program(reference, max_cases=self.config.max_cases)
        program = build_program(program, reference)
        syntax = parse_error(program)
        if syntax is not None:
            return Outcome.failed("syntax_error", syntax, pass_rate=0.0, language=language)
        return self._guard(
            lambda: run_program(program, tests, self.sandbox(), self.config), language
        )

    def _stdio(self, program: str, language: str, reference: Mapping[str, Any]) -> Outcome:
        cases = cases_for(reference, self.config)
        if language == "python":
            syntax = parse_error(program)
            if syntax is not None:
                return Outcome.failed("syntax_error", syntax, pass_rate=0.0, language=language)
        return self._guard(
            lambda: check_stdio(program, language, cases, self.sandbox(), self.config), language
        )


def parse_error(program: str) -> str | None:
    """Why ``program`` is not valid Python, as far as parsing and its symbol table tell (else None).

    Never ``compile()`` in the grader: bytecode can grow exponentially in the source (each nested
    ``try/finally`` doubles it: 19 levels in 2.9 KB are ~1.5 GB). Both steps here are linear; the
    few errors only the compiler finds (``return`` outside a function, too many nested blocks...)
    are found when the sandbox compiles the program, and reported as ``syntax_error`` from there.

    >>> parse_error("def f(:\\n    pass")
    'SyntaxError: invalid syntax (line 1)'
    """
    try:
        # e.g. invalid escape sequences: compile() would only warn too
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            symtable.symtable(program, "solution.py", "exec")
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # e.g. null bytes
        return f"invalid source: {exc}"
    # a RecursionError (nested too deeply to parse) is ``unparseable: too_deep``, as in code@1
    return None
